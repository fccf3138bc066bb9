import CoalitionKit

/// A `LedgerStore` held in memory: the engine's tests run without SQLite.
///
/// It keeps what the SQLite store keeps, table by table, and loads the state back from it
/// the same way, so a test can check that what the engine wrote is all it needs. It checks
/// what a database's constraints would (sequence numbers, unique record ids), and its
/// commit can be told to fail.
final class InMemoryStore: LedgerStore {
    struct BatchRow: Hashable {
        let info: BatchInfo
        let postings: Int
    }

    /// Everything the store holds, comparable as a whole.
    struct Content: Equatable {
        var batches: [Int64: BatchRow] = [:]
        var attachments: [Int64: [String: [UInt8]]] = [:]
        /// Members without their lots, as a table row holds them.
        var members: [MemberNumber: MemberAccount] = [:]
        var lots: [Int64: Lot] = [:]
        var lotCounter: Int64 = 0
        var accounts: [AccountKey: Int64] = [:]
        var postings: [Posting] = []
        var reversedUnits: [Int64: Int64] = [:]
        var obligations: [Obligation] = []
    }

    private(set) var content = Content()
    /// The number of commits that wrote something.
    private(set) var commits = 0
    /// When set, the next commit throws `STORE_FAILURE` without writing anything.
    var failNextCommit = false

    func load() throws -> LedgerSnapshot {
        var snapshot = LedgerSnapshot()
        snapshot.members = content.members
        var lotsByMember: [MemberNumber: [Lot]] = [:]
        for lot in content.lots.values { lotsByMember[lot.member, default: []].append(lot) }
        for (number, lots) in lotsByMember {
            guard snapshot.members[number] != nil else {
                throw CoalitionError(.storeFailure, "lots of member \(number), who is not enrolled")
            }
            snapshot.members[number]!.restore(lots: lots)
        }
        snapshot.accounts = content.accounts
        for posting in content.postings {
            guard let key = posting.recordKey else { continue }
            snapshot.records[key] = RecordEntry(
                seq: posting.seq,
                kind: posting.kind,
                units: posting.units,
                reversedUnits: content.reversedUnits[posting.seq] ?? 0
            )
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

    func commit(_ write: LedgerWrite) throws {
        if failNextCommit {
            failNextCommit = false
            throw CoalitionError(.storeFailure, "injected commit failure")
        }
        // Work on a copy: the commit is all or nothing.
        var next = content
        guard next.batches[write.batchID] == nil, write.batchID == (next.batches.keys.max() ?? 0) + 1 else {
            throw CoalitionError(.storeFailure, "batch \(write.batchID) does not follow the last batch")
        }
        next.batches[write.batchID] = BatchRow(info: write.info, postings: write.postings.count)
        if !write.attachments.isEmpty { next.attachments[write.batchID] = write.attachments }
        for (number, account) in write.members {
            next.members[number] = MemberAccount(
                number: account.number,
                enrolledAt: account.enrolledAt,
                enrolledBy: account.enrolledBy,
                isClosed: account.isClosed
            )
        }
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
        content = next
        commits += 1
    }

    func posting(seq: Int64) throws -> Posting? {
        guard seq >= 1 && seq <= Int64(content.postings.count) else { return nil }
        return content.postings[Int(seq - 1)]
    }

    func forEachPosting(_ body: (Posting) throws -> Void) throws {
        for posting in content.postings { try body(posting) }
    }

    func obligations(openOnly: Bool) throws -> [Obligation] {
        openOnly ? content.obligations.filter { $0.cycle == nil } : content.obligations
    }

    func obligations(causedBy member: MemberNumber) throws -> [Obligation] {
        content.obligations.filter { $0.member == member }
    }

    /// Replaces the posting `seq`: for tests that tamper with the journal on purpose.
    func tamper(seq: Int64, _ change: (Posting) -> Posting) {
        content.postings[Int(seq - 1)] = change(content.postings[Int(seq - 1)])
    }

    func removePosting(seq: Int64) {
        content.postings.remove(at: Int(seq - 1))
    }
}
