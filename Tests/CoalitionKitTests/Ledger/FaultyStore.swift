import CoalitionKit

/// A store that fails a batch's write at a chosen step, as a real disk and database do: the
/// deterministic simulation's fault-injecting store (docs/reliability.md).
///
/// It passes everything through to `inner` until a fault is armed. The next batch then
/// fails at its `step`-th store call (0 `begin`, then each chunk's `write`, the last
/// `finish`; a step past the batch's calls fails at `finish`), with the fault's kind:
/// - `busy`: the database is locked by another writer (`LEDGER_BUSY`), at `begin` or later;
/// - `shortWrite`: a chunk reached the transaction, then the write failed (part written);
/// - `diskFull`: the chunk was refused, nothing of it written (`ENOSPC`);
/// - `fsyncFailure`: every write passed, the sync at the commit failed (`EIO`);
/// - `failedCommit`: the commit itself was refused.
/// Every kind throws before the transaction commits, so the ledger must be exactly as before
/// the batch; the fault disarms itself once it struck.
final class FaultyStore: LedgerStore {
    enum Kind: String, CaseIterable {
        case busy, shortWrite, diskFull, fsyncFailure, failedCommit
    }

    struct Fault: CustomStringConvertible {
        let kind: Kind
        let step: Int

        var description: String { "\(kind.rawValue) at store call \(step)" }
    }

    let inner: InMemoryStore
    /// The fault the next batch meets, if any.
    var armed: Fault?
    /// The store calls of the batch in progress.
    private var calls = 0
    /// The faults that struck, in order.
    private(set) var struck: [Fault] = []

    init(_ inner: InMemoryStore) { self.inner = inner }

    /// Throws the armed fault if `call` is where it strikes (or it is `finish`, the last).
    private func strike(isFinish: Bool = false) throws {
        defer { calls += 1 }
        guard let fault = armed, calls >= fault.step || isFinish else { return }
        armed = nil
        struck.append(fault)
        switch fault.kind {
        case .busy:
            throw CoalitionError(.ledgerBusy, "injected: the database is locked (\(fault))")
        case .shortWrite:
            throw CoalitionError(.storeFailure, "injected: short write (\(fault))")
        case .diskFull:
            throw CoalitionError(.storeFailure, "injected: no space left on device (\(fault))")
        case .fsyncFailure:
            throw CoalitionError(.storeFailure, "injected: fsync failed, I/O error (\(fault))")
        case .failedCommit:
            throw CoalitionError(.storeFailure, "injected: the commit failed (\(fault))")
        }
    }

    func load() throws -> LedgerSnapshot { try inner.load() }

    func begin() throws {
        calls = 0
        try strike()
        try inner.begin()
    }

    func write(_ write: LedgerWrite) throws {
        guard let fault = armed, calls >= fault.step, fault.kind != .fsyncFailure, fault.kind != .failedCommit else {
            calls += 1
            try inner.write(write)
            return
        }
        // A short write: the chunk reached the open transaction, then the write failed.
        if fault.kind == .shortWrite { try inner.write(write) }
        try strike()
    }

    func finish(_ summary: BatchSummary) throws {
        if armed != nil { try strike(isFinish: true) }
        try inner.finish(summary)
    }

    func rollback() { inner.rollback() }

    func posting(seq: Int64) throws -> Posting? { try inner.posting(seq: seq) }

    func appliedRecord(seq: Int64) throws -> AppliedRecord? { try inner.appliedRecord(seq: seq) }

    func prefetch(seqs: [Int64]) throws { try inner.prefetch(seqs: seqs) }

    func forEachPosting(in range: ClosedRange<Int64>, _ body: (Posting) throws -> Void) throws {
        try inner.forEachPosting(in: range, body)
    }

    func obligations(openOnly: Bool) throws -> [Obligation] { try inner.obligations(openOnly: openOnly) }

    func obligations(causedBy member: MemberNumber) throws -> [Obligation] {
        try inner.obligations(causedBy: member)
    }

    func batch(partner: PartnerID, sequence: Int64) throws -> BatchSummary? {
        try inner.batch(partner: partner, sequence: sequence)
    }

    func lastSequence(partner: PartnerID) throws -> Int64 { try inner.lastSequence(partner: partner) }

    func rejections(batch: Int64) throws -> [Rejection] { try inner.rejections(batch: batch) }

    func expiredLot(_ id: Int64) throws -> ExpiredLot? { try inner.expiredLot(id) }

    func tierChanges(member: MemberNumber) throws -> [TierChange] { try inner.tierChanges(member: member) }

    func postings(member: MemberNumber, in range: ClosedRange<Timestamp>) throws -> [Posting] {
        try inner.postings(member: member, in: range)
    }

    func cycles() throws -> [ClearingCycle] { try inner.cycles() }

    func openObligationTotals(
        through: Timestamp,
        watermark: Int64
    ) throws -> (totals: [ObligationTotal], batches: [BatchReference]) {
        try inner.openObligationTotals(through: through, watermark: watermark)
    }

    func obligations(creditor: PartnerID) throws -> [Obligation] { try inner.obligations(creditor: creditor) }

    func obligations(cycle number: Int64) throws -> [Obligation] { try inner.obligations(cycle: number) }

    func saveState(_ state: LedgerSnapshot) throws { try inner.saveState(state) }
}
