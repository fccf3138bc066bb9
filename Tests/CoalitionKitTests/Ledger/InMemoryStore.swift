import CoalitionKit

/// A `LedgerStore` held in memory: the engine's tests run without SQLite.
///
/// It keeps what the SQLite store keeps, table by table, and loads the state back from it
/// the same way, so a test can check that what the engine wrote is all it needs. It checks
/// what a database's constraints would (sequence numbers, unique record ids), and its
/// commit can be told to fail.
final class InMemoryStore: LedgerStore {
    typealias BatchRow = BatchSummary

    /// Everything the store holds, comparable as a whole.
    struct Content: Equatable {
        var batches: [Int64: BatchRow] = [:]
        var rejections: [Int64: [Rejection]] = [:]
        var qualifying: [QualifyingKey: Int64] = [:]
        var tierChanges: [TierChange] = []
        var expiredLots: [Int64: ExpiredLot] = [:]
        var cycles: [ClearingCycle.Row] = []
        /// Members without their lots, as a table row holds them.
        var members: [MemberNumber: MemberAccount] = [:]
        var lots: [Int64: Lot] = [:]
        var lotCounter: Int64 = 0
        var accounts: [AccountKey: Int64] = [:]
        var postings: [Posting] = []
        var reversedUnits: [Int64: Int64] = [:]
        var obligations: [Obligation] = []
        var referrals: [MemberNumber: Referral] = [:]
    }

    private(set) var content = Content()
    /// The open transaction's content: what reads see while a batch is being written.
    private var pending: Content?
    private var visible: Content { pending ?? content }
    /// The number of commits that wrote something.
    private(set) var commits = 0
    /// When set, the next commit throws `STORE_FAILURE` without writing anything.
    var failNextCommit = false
    /// The full cycles, as written (the rows above are what the content compares).
    private var cycleList: [ClearingCycle] = []
    private var pendingCycles: [ClearingCycle] = []

    func load() throws -> LedgerSnapshot {
        var snapshot = LedgerSnapshot()
        for link in content.referrals.values { snapshot.referrals.set(link) }
        var qualifying: [MemberNumber: [QualifyingDay]] = [:]
        for (key, points) in content.qualifying {
            qualifying[key.member, default: []].append(QualifyingDay(day: key.day, points: points))
        }
        var marks: [MemberNumber: [TransferMark]] = [:]
        for posting in content.postings {
            guard posting.kind == .transfer, let to = posting.counterparty, let from = posting.member else { continue }
            marks[from, default: []].append(TransferMark(at: posting.occurredAt, points: posting.units, sent: true))
            marks[to, default: []].append(TransferMark(at: posting.occurredAt, points: posting.units, sent: false))
        }
        for (number, row) in content.members {
            snapshot.members[number] = MemberAccount(
                number: number,
                enrolledAt: row.enrolledAt,
                enrolledBy: row.enrolledBy,
                isClosed: row.isClosed,
                tier: row.tier,
                tierSince: row.tierSince,
                qualifying: qualifying[number] ?? [],
                transfers: marks[number] ?? []
            )
        }
        // Lots in no particular order, as a store may read them; then put in order once.
        for lot in content.lots.values {
            guard snapshot.members[lot.member]?.addLoaded(lot) != nil else {
                throw CoalitionError(.storeFailure, "lots of member \(lot.member), who is not enrolled")
            }
        }
        for number in Array(snapshot.members.keys) { snapshot.members[number]!.finishLoading() }
        snapshot.accounts = content.accounts
        for posting in content.postings {
            guard let key = posting.recordKey else { continue }
            snapshot.records.insert(key, seq: posting.seq)
        }
        if let last = content.postings.last {
            snapshot.lastSeq = last.seq
            snapshot.lastHash = last.hash
        }
        snapshot.lastBatch = content.batches.keys.max() ?? 0
        snapshot.lastLotID = content.lotCounter
        snapshot.lastObligationID = content.obligations.last?.id ?? 0
        return snapshot
    }

    func begin() throws {
        guard pending == nil else { throw CoalitionError(.storeFailure, "a transaction is already open") }
        pending = content
        pendingCycles = cycleList
    }

    func rollback() {
        pending = nil
        pendingCycles = cycleList
    }

    func finish(_ summary: BatchSummary) throws {
        guard var next = pending else { throw CoalitionError(.storeFailure, "no open transaction") }
        pending = nil
        if failNextCommit {
            failNextCommit = false
            pendingCycles = cycleList
            throw CoalitionError(.storeFailure, "injected commit failure")
        }
        guard next.batches[summary.id] == nil, summary.id == (next.batches.keys.max() ?? 0) + 1 else {
            throw CoalitionError(.storeFailure, "batch \(summary.id) does not follow the last batch")
        }
        next.batches[summary.id] = summary
        content = next
        cycleList = pendingCycles
        commits += 1
    }

    func write(_ write: LedgerWrite) throws {
        guard var next = pending else { throw CoalitionError(.storeFailure, "no open transaction") }
        guard next.batches[write.batchID] == nil, write.batchID == (next.batches.keys.max() ?? 0) + 1 else {
            throw CoalitionError(.storeFailure, "batch \(write.batchID) does not follow the last batch")
        }
        next.rejections[write.batchID, default: []] += write.rejections
        if let cycle = write.cycle {
            next.cycles.append(ClearingCycle.Row(cycle))
            pendingCycles.append(cycle)
        }
        for number in write.memberRows {
            guard let account = write.members[number] else { continue }
            next.members[number] = MemberAccount(
                number: account.number,
                enrolledAt: account.enrolledAt,
                enrolledBy: account.enrolledBy,
                isClosed: account.isClosed,
                tier: account.tier,
                tierSince: account.tierSince,
                qualifying: [],
                transfers: []
            )
        }
        for (key, points) in write.qualifying { next.qualifying[key] = points == 0 ? nil : points }
        next.tierChanges += write.tierChanges
        for (number, link) in write.referrals { next.referrals[number] = link }
        for (id, lot) in write.expiredLots { next.expiredLots[id] = lot }
        var keys = Set(next.postings.compactMap(\.recordKey))
        for posting in write.postings {
            guard posting.seq == (next.postings.last?.seq ?? 0) + 1 else {
                throw CoalitionError(.storeFailure, "posting \(posting.seq) does not follow the last posting")
            }
            guard posting.batch == write.batchID else {
                throw CoalitionError(.storeFailure, "posting \(posting.seq) names batch \(posting.batch)")
            }
            if let key = posting.recordKey, !keys.insert(key).inserted {
                throw CoalitionError(.storeFailure, "record \(key) is already in the journal")
            }
            next.postings.append(posting)
        }
        for (seq, units) in write.reversedUnits {
            guard seq >= 1 && seq <= Int64(next.postings.count) else {
                throw CoalitionError(.storeFailure, "no posting \(seq) to mark reversed")
            }
            next.reversedUnits[seq] = units
        }
        for (id, lot) in write.lots {
            guard lot.id == id, lot.points != 0 else {
                throw CoalitionError(.storeFailure, "lot \(id) is written empty or under another id")
            }
            next.lots[id] = lot
        }
        for id in write.deletedLots { next.lots[id] = nil }
        if let highest = (Array(write.lots.keys) + Array(write.deletedLots)).max() {
            next.lotCounter = max(next.lotCounter, highest)
        }
        for (key, balance) in write.accounts { next.accounts[key] = balance }
        for obligation in write.obligations {
            guard obligation.id == (next.obligations.last?.id ?? 0) + 1 else {
                throw CoalitionError(.storeFailure, "obligation \(obligation.id) does not follow the last one")
            }
            next.obligations.append(obligation)
        }
        pending = next
    }

    func posting(seq: Int64) throws -> Posting? {
        visible.postings.first { $0.seq == seq }
    }

    func appliedRecord(seq: Int64) throws -> AppliedRecord? {
        // Postings are numbered from 1 without a gap.
        guard seq >= 1 && seq <= Int64(visible.postings.count) else { return nil }
        let posting = visible.postings[Int(seq - 1)]
        guard let key = posting.recordKey else { return nil }
        let entry = RecordEntry(
            seq: seq,
            kind: posting.kind,
            units: posting.units,
            reversedUnits: visible.reversedUnits[seq] ?? 0
        )
        return AppliedRecord(key: key, entry: entry)
    }

    func forEachPosting(in range: ClosedRange<Int64>, _ body: (Posting) throws -> Void) throws {
        for posting in visible.postings where range.contains(posting.seq) { try body(posting) }
    }

    /// Obligations with the cycle they belong to: the first whose window covers them.
    private var allObligations: [Obligation] {
        let cycles = pending == nil ? cycleList : pendingCycles
        return visible.obligations.map { o in
            var copy = o
            copy.cycle = cycles.first { $0.covers(id: o.id, occurredAt: o.occurredAt) }?.number
            return copy
        }
    }

    func obligations(openOnly: Bool) throws -> [Obligation] {
        openOnly ? allObligations.filter { $0.cycle == nil } : allObligations
    }

    func obligations(causedBy member: MemberNumber) throws -> [Obligation] {
        allObligations.filter { $0.member == member }
    }

    func obligations(creditor: PartnerID) throws -> [Obligation] {
        allObligations.filter { $0.creditor == creditor }
    }

    func obligations(cycle number: Int64) throws -> [Obligation] {
        allObligations.filter { $0.cycle == number }
    }

    func batch(partner: PartnerID, sequence: Int64) throws -> BatchSummary? {
        visible.batches.values.first { $0.info.partner == partner && $0.info.sequence == sequence }
    }

    func lastSequence(partner: PartnerID) throws -> Int64 {
        visible.batches.values.filter { $0.info.partner == partner }.compactMap(\.info.sequence).max() ?? 0
    }

    func rejections(batch: Int64) throws -> [Rejection] {
        (visible.rejections[batch] ?? []).sorted { $0.line < $1.line }
    }

    func expiredLot(_ id: Int64) throws -> ExpiredLot? { visible.expiredLots[id] }

    func tierChanges(member: MemberNumber) throws -> [TierChange] {
        visible.tierChanges.filter { $0.member == member }
    }

    func postings(member: MemberNumber, in range: ClosedRange<Timestamp>) throws -> [Posting] {
        visible.postings.filter {
            ($0.member == member || $0.counterparty == member) && range.contains($0.occurredAt)
        }
    }

    func cycles() throws -> [ClearingCycle] { pending == nil ? cycleList : pendingCycles }

    func openObligationTotals(
        through: Timestamp,
        watermark: Int64
    ) throws -> (
        totals: [ObligationTotal], batches: [BatchReference]
    ) {
        struct Pair: Hashable {
            let debtor: PartnerID
            let creditor: PartnerID
            let currency: Currency
        }
        var sums: [Pair: (Int64, Int64, Int)] = [:]
        var batches: [Int64: Set<PartnerID>] = [:]
        for o in try obligations(openOnly: true) where o.id <= watermark && o.occurredAt <= through {
            let pair = Pair(debtor: o.debtor, creditor: o.creditor, currency: o.currency)
            let s = sums[pair] ?? (0, 0, 0)
            sums[pair] = (s.0 + o.amount, s.1 + o.points, s.2 + 1)
            batches[o.batch, default: []].formUnion([o.debtor, o.creditor])
        }
        let totals = sums.map {
            ObligationTotal(
                debtor: $0.key.debtor,
                creditor: $0.key.creditor,
                currency: $0.key.currency,
                amount: $0.value.0,
                points: $0.value.1,
                count: $0.value.2
            )
        }
        let references = batches.compactMap { id, parties -> BatchReference? in
            guard let row = visible.batches[id], let partner = row.info.partner, let sequence = row.info.sequence else {
                return nil
            }
            return BatchReference(partner: partner, sequence: sequence, counterparties: parties)
        }.sorted { ($0.partner, $0.sequence) < ($1.partner, $1.sequence) }
        return (totals, references)
    }

    /// Replaces the posting `seq`: for tests that tamper with the journal on purpose.
    func tamper(seq: Int64, _ change: (Posting) -> Posting) {
        content.postings[Int(seq - 1)] = change(content.postings[Int(seq - 1)])
    }

    func removePosting(seq: Int64) {
        content.postings.remove(at: Int(seq - 1))
    }
}

extension ClearingCycle {
    /// What the in-memory store compares of a cycle.
    struct Row: Hashable {
        let number: Int64
        let through: Timestamp
        let watermark: Int64
        let postingSeq: Int64

        init(_ cycle: ClearingCycle) {
            number = cycle.number
            through = cycle.through
            watermark = cycle.watermark
            postingSeq = cycle.postingSeq
        }
    }
}
