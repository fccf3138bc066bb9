/// The clearing ledger: a single writer that holds the hot state in memory, validates and
/// applies batches of records, and hands the store one atomic transaction per batch.
///
/// Not thread-safe by design (as TigerBeetle's state machine): one owner drives it. A batch
/// that fails leaves both the store and the memory exactly as they were.
package final class Ledger {
    package let network: Network
    package let store: any LedgerStore
    package internal(set) var state: LedgerSnapshot
    /// Hashes the journal's chain as postings are made.
    let hasher = SHA256()
    /// The accounts postings have named, numbered for the engine.
    var book = AccountBook()

    /// Opens the ledger in `store`, loading its state back.
    package init(network: Network, store: any LedgerStore) throws {
        self.network = network
        self.store = store
        self.state = try store.load()
    }

    package func member(_ number: MemberNumber) -> MemberAccount? { state.members[number] }

    /// What the ledger remembers of record `key`, if it was applied: the index's candidate,
    /// confirmed against the journal.
    package func record(_ key: RecordKey) throws -> RecordEntry? {
        guard let candidate = state.records.candidate(for: key) else { return nil }
        return try confirm(candidate, for: key)
    }

    /// The record `key` is, if the index's `candidate` for it is `key` itself.
    func confirm(_ candidate: (seq: Int64, isExact: Bool), for key: RecordKey) throws -> RecordEntry? {
        guard let applied = try store.appliedRecord(seq: candidate.seq) else {
            throw CoalitionError(.storeFailure, "the journal has no record at posting \(candidate.seq)")
        }
        if applied.key == key { return applied.entry }
        guard !candidate.isExact else {
            throw CoalitionError(.storeFailure, "posting \(candidate.seq) holds record \(applied.key), not \(key)")
        }
        return nil  // another key with the same fingerprint
    }

    package func balance(of key: AccountKey) -> Int64 { state.accounts[key] ?? 0 }

    /// The postings the reversals among `records` may undo, as far as the record index knows
    /// (candidates: each is confirmed when its reversal is applied).
    func reversalOriginals(_ records: [LedgerRecord]) -> [Int64] {
        var seqs: [Int64] = []
        for record in records {
            guard case .reverse(let original, _) = record.body,
                let key = try? RecordKey(partner: record.key.partner, recordID: original),
                let candidate = state.records.candidate(for: key)
            else { continue }
            seqs.append(candidate.seq)
        }
        return seqs
    }

    /// The points of `issuer` members still hold (less what they owe it): its liability.
    /// Issuing, redeeming and reversing move the issuer's account; expiry moves its
    /// breakage account; both count.
    package func outstanding(_ issuer: PartnerID) -> Int64 {
        -(balance(of: AccountKey(Account.issuer(issuer), Account.points))
            + balance(of: AccountKey(Account.breakage(issuer), Account.points)))
    }

    /// Applies `records` as one batch. Record faults reject only that record; everything
    /// accepted is committed in one transaction. If that fails nothing changes and the error
    /// is thrown.
    @discardableResult
    package func apply(_ records: [LedgerRecord], info: BatchInfo) throws -> [RecordOutcome] {
        try batch(info) { session in try session.apply(records) }
    }

    /// Runs `body` as one batch: it may apply records in as many chunks as it likes (a large
    /// file is applied chunk by chunk, never held whole), and everything is committed in one
    /// store transaction when `body` returns. If `body` or the commit throws, the
    /// transaction is rolled back and the memory is restored from the store.
    @discardableResult
    package func batch<T>(_ info: BatchInfo, _ body: (BatchSession) throws -> T) throws -> T {
        try store.begin()
        let session = BatchSession(ledger: self, info: info)
        do {
            let result = try body(session)
            try session.flush()
            try store.finish(session.summary)
            state.lastBatch = session.batchID
            return result
        } catch {
            store.rollback()
            if session.hasMerged { state = try store.load() }
            throw error
        }
    }

    /// Saves the state in memory beside the store (when the store keeps one: SQLite's state
    /// file), so the next process opens the ledger without rebuilding it from the tables.
    /// Call it when done with the ledger; skipping it only makes the next open slower.
    package func saveState() throws {
        try store.saveState(state)
    }

    /// Checks every invariant of DESIGN.md on the state in memory; the first fault found is
    /// thrown as `AUDIT_FAILED`.
    package func checkInvariants() throws {
        try Invariants.check(state)
    }
}

/// A batch being applied: chunks of records go through the engine and into the open store
/// transaction; the memory follows each chunk, and is reloaded if the batch fails.
package final class BatchSession {
    let ledger: Ledger
    package let batchID: Int64
    /// What will be written as the batch's row when it commits. Front ends fill in the
    /// settlement-file parts.
    package var summary: BatchSummary
    private var pendingRejections: [Rejection] = []
    /// Whether the batch has changed the ledger's state in memory: if the batch then fails,
    /// the state is reloaded from the store (a refused transfer, which changed nothing, is
    /// not).
    private(set) var hasMerged = false

    init(ledger: Ledger, info: BatchInfo) {
        self.ledger = ledger
        batchID = ledger.state.lastBatch + 1
        summary = BatchSummary(id: batchID, info: info)
    }

    /// Whether `apply` keeps each record's acknowledgement detail (`acknowledgementDetails`),
    /// for a partner that reads version 2 acknowledgements.
    package var collectsAcknowledgementDetails = false
    /// The acknowledgement detail of each record of the last `apply`, in order (nil for a
    /// record rejected or without one); empty unless collected.
    package private(set) var acknowledgementDetails: [AppliedDetail?] = []

    /// Applies one chunk of records; returns each record's outcome in order.
    package func apply(_ records: [LedgerRecord], lines: [Int]? = nil) throws -> [RecordOutcome] {
        try ledger.store.prefetch(seqs: ledger.reversalOriginals(records))
        return try withBuilder(expecting: records.count) { builder in
            var outcomes: [RecordOutcome] = []
            outcomes.reserveCapacity(records.count)
            for (index, record) in records.enumerated() {
                summary.records += 1
                do {
                    let points = try builder.apply(record)
                    outcomes.append(.accepted(points: points))
                    summary.accepted += 1
                } catch let error as CoalitionError where !error.isStoreFault {
                    // A record fault rejects the record; a store that fails fails the batch.
                    let located = error.located(Place(recordID: record.key.recordID))
                    outcomes.append(.rejected(located))
                    summary.rejected += 1
                    pendingRejections.append(
                        Rejection(
                            line: lines?[index] ?? 0,
                            recordID: record.key.recordID,
                            code: located.code,
                            message: located.message
                        )
                    )
                }
            }
            return outcomes
        } ending: { outcomes, write in
            if collectsAcknowledgementDetails { acknowledgementDetails = Self.details(of: outcomes, in: write) }
            write.rejections = pendingRejections
            pendingRejections = []
        }
    }

    /// Each accepted record's acknowledgement detail, from its posting (one a record, in order)
    /// and the obligations the posting made.
    static func details(of outcomes: [RecordOutcome], in write: LedgerWrite) -> [AppliedDetail?] {
        var details: [AppliedDetail?] = Array(repeating: nil, count: outcomes.count)
        var posting = 0
        var next = 0
        let obligations = write.obligations
        for (index, outcome) in outcomes.enumerated() where outcome.isAccepted {
            defer { posting += 1 }
            let row = write.postings.rows[posting]
            while next < obligations.count && obligations[next].postingSeq < row.seq { next += 1 }
            var made: [Obligation] = []
            while next < obligations.count && obligations[next].postingSeq == row.seq {
                made.append(obligations[next])
                next += 1
            }
            guard !made.isEmpty || row.kind == .redeem || row.kind == .reverseRedeem || row.kind == .reverseEarn
            else { continue }
            details[index] = AppliedDetail.of(
                kind: row.kind,
                detail: write.postings[posting].detail,
                obligations: made
            )
        }
        return details
    }

    /// Runs `body` on a fresh engine view of this batch for a chunk of about `records`
    /// records, then ends the chunk: `ending` completes its write (rejections, the cycle it
    /// closes), the store takes the write, and the ledger's state the chunk's counters. The
    /// one way a chunk ends, whatever made it.
    func withBuilder<T>(
        expecting records: Int = 0,
        _ body: (BatchBuilder) throws -> T,
        ending: (T, inout LedgerWrite) -> Void = { _, _ in }
    ) throws -> T {
        let builder = BatchBuilder(ledger: ledger, batchID: batchID, expected: records)
        defer { if builder.hasChangedState { hasMerged = true } }
        let result = try body(builder)
        var write = builder.finish()
        ending(result, &write)
        if summary.firstSeq == nil, let first = write.postings.firstSeq { summary.firstSeq = first }
        if let last = write.postings.lastSeq { summary.lastSeq = last }
        try ledger.store.write(write)
        builder.merge(into: &ledger.state)
        hasMerged = true
        return result
    }

    /// Records a posting of the network's own (a cycle's settlement, an expiry run) in this
    /// batch; `cycle`, given the posting's sequence number, is the cycle it closes.
    @discardableResult
    package func post(
        kind: PostingKind,
        occurredAt: Timestamp,
        legs: [Leg],
        detail: String,
        closing cycle: ((Int64) -> ClearingCycle)? = nil
    ) throws -> Int64 {
        try withBuilder { builder in
            try builder.post(kind: kind, occurredAt: occurredAt, legs: legs, detail: detail)
        } ending: { seq, write in
            write.cycle = cycle?(seq)
        }
    }

    /// Records a record the front end rejected before it reached the engine (it did not
    /// parse, say), so it is kept with its reason.
    package func reject(line: Int, recordID: String, _ error: CoalitionError) {
        summary.records += 1
        summary.rejected += 1
        pendingRejections.append(Rejection(line: line, recordID: recordID, code: error.code, message: error.message))
    }

    func flush() throws {
        guard !pendingRejections.isEmpty else { return }
        var write = LedgerWrite(batchID: batchID)
        write.rejections = pendingRejections
        pendingRejections = []
        try ledger.store.write(write)
    }
}
