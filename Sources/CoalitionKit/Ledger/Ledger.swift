/// The clearing ledger: a single writer that holds the hot state in memory, validates and
/// applies a batch of records, and hands the store one atomic write per batch.
///
/// Not thread-safe by design (as TigerBeetle's state machine): one owner drives it. A batch
/// that fails to commit leaves both the store and the memory exactly as they were.
public final class Ledger {
    public let network: Network
    public let store: any LedgerStore
    public internal(set) var state: LedgerSnapshot
    let hasher = SHA256()

    /// Opens the ledger in `store`, loading its state back.
    public init(network: Network, store: any LedgerStore) throws {
        self.network = network
        self.store = store
        self.state = try store.load()
    }

    public func member(_ number: MemberNumber) -> MemberAccount? { state.members[number] }

    public func balance(of key: AccountKey) -> Int64 { state.accounts[key] ?? 0 }

    /// Applies `records` as one batch. Record faults reject only that record; everything
    /// accepted is committed in one transaction together with `attachments`. If the commit
    /// fails nothing changes, in the store or here, and the error is thrown.
    @discardableResult
    public func apply(
        _ records: [LedgerRecord],
        info: BatchInfo,
        attachments: ([RecordOutcome]) throws -> [String: [UInt8]] = { _ in [:] }
    ) throws -> [RecordOutcome] {
        let builder = BatchBuilder(ledger: self, info: info)
        var outcomes: [RecordOutcome] = []
        outcomes.reserveCapacity(records.count)
        for record in records {
            do {
                outcomes.append(.accepted(points: try builder.apply(record)))
            } catch let error as CoalitionError {
                outcomes.append(.rejected(error.located(Place(recordID: record.key.recordID))))
            }
        }
        var write = builder.write
        write.attachments = try attachments(outcomes)
        try store.commit(write)
        builder.merge(into: &state)
        return outcomes
    }

    /// Checks every invariant of DESIGN.md on the state in memory; the first fault found is
    /// thrown as `AUDIT_FAILED`.
    public func checkInvariants() throws {
        try Invariants.check(state)
    }
}
