import CoalitionKit
import Foundation

/// The batches committed so far, as (partner, sequence): written by the store once its
/// commit returned, read by test threads to check an answer came after its commit.
final class CommitLog: @unchecked Sendable {
    // Safe to share: every access holds `lock`.
    private let lock = NSLock()
    private var batches: Set<String> = []

    func add(_ partner: PartnerID, _ sequence: Int64) {
        lock.withLock { _ = batches.insert("\(partner)/\(sequence)") }
    }

    private var ids: Set<Int64> = []

    /// Notes that batch `id` (any batch, a file or single records) committed.
    func add(batch id: Int64) { lock.withLock { _ = ids.insert(id) } }

    func contains(batch id: Int64) -> Bool { lock.withLock { ids.contains(id) } }

    /// How many batches committed.
    var batchCount: Int { lock.withLock { ids.count } }

    func contains(_ partner: PartnerID, _ sequence: Int64) -> Bool {
        lock.withLock { batches.contains("\(partner)/\(sequence)") }
    }
}

/// A store that forwards to another and notes each batch in `log` once its commit returned.
final class RecordingStore: LedgerStore {
    let base: any LedgerStore
    let log: CommitLog

    init(_ base: any LedgerStore, log: CommitLog) {
        self.base = base
        self.log = log
    }

    func finish(_ summary: BatchSummary) throws {
        try base.finish(summary)
        log.add(batch: summary.id)
        if let partner = summary.info.partner, let sequence = summary.info.sequence { log.add(partner, sequence) }
    }

    func load() throws -> LedgerSnapshot { try base.load() }
    func begin() throws { try base.begin() }
    func write(_ write: LedgerWrite) throws { try base.write(write) }
    func rollback() { base.rollback() }
    func posting(seq: Int64) throws -> Posting? { try base.posting(seq: seq) }
    func appliedRecord(seq: Int64) throws -> AppliedRecord? { try base.appliedRecord(seq: seq) }
    func prefetch(seqs: [Int64]) throws { try base.prefetch(seqs: seqs) }
    func forEachPosting(in range: ClosedRange<Int64>, _ body: (Posting) throws -> Void) throws {
        try base.forEachPosting(in: range, body)
    }
    func obligations(openOnly: Bool) throws -> [Obligation] { try base.obligations(openOnly: openOnly) }
    func obligations(causedBy member: MemberNumber) throws -> [Obligation] {
        try base.obligations(causedBy: member)
    }
    func batch(partner: PartnerID, sequence: Int64) throws -> BatchSummary? {
        try base.batch(partner: partner, sequence: sequence)
    }
    func lastSequence(partner: PartnerID) throws -> Int64 { try base.lastSequence(partner: partner) }
    func rejections(batch: Int64) throws -> [Rejection] { try base.rejections(batch: batch) }
    func expiredLot(_ id: Int64) throws -> ExpiredLot? { try base.expiredLot(id) }
    func tierChanges(member: MemberNumber) throws -> [TierChange] { try base.tierChanges(member: member) }
    func postings(member: MemberNumber, in range: ClosedRange<Timestamp>) throws -> [Posting] {
        try base.postings(member: member, in: range)
    }
    func cycles() throws -> [ClearingCycle] { try base.cycles() }
    func openObligationTotals(
        through: Timestamp,
        watermark: Int64
    ) throws -> (totals: [ObligationTotal], batches: [BatchReference]) {
        try base.openObligationTotals(through: through, watermark: watermark)
    }
    func obligations(creditor: PartnerID) throws -> [Obligation] { try base.obligations(creditor: creditor) }
    func obligations(cycle number: Int64) throws -> [Obligation] { try base.obligations(cycle: number) }
    func saveState(_ state: LedgerSnapshot) throws { try base.saveState(state) }
}

/// The outbox of the store it forwards to, so that the webhook worker and the operator's
/// panel see a recording store's events as the server's own.
extension RecordingStore: EventOutbox {
    private var outbox: any EventOutbox {
        get throws {
            guard let outbox = base as? any EventOutbox else {
                throw CoalitionError(.storeFailure, "the recorded store keeps no outbox")
            }
            return outbox
        }
    }

    func enqueue(_ events: [OutboxEvent], at now: Timestamp) throws -> Int { try outbox.enqueue(events, at: now) }
    func dueEvents(at now: Timestamp, limit: Int) throws -> [OutboxEntry] {
        try outbox.dueEvents(at: now, limit: limit)
    }
    func recordAttempts(_ attempts: [DeliveryAttempt]) throws { try outbox.recordAttempts(attempts) }
    func events(status: OutboxStatus?, limit: Int) throws -> [OutboxEntry] {
        try outbox.events(status: status, limit: limit)
    }
    func event(id: String) throws -> OutboxEntry? { try outbox.event(id: id) }
    func redeliver(id: String, at now: Timestamp) throws -> Bool { try outbox.redeliver(id: id, at: now) }
    func outboxCounts() throws -> OutboxCounts { try outbox.outboxCounts() }
    func failingDeliveries(limit: Int) throws -> [OutboxEntry] { try outbox.failingDeliveries(limit: limit) }
}
