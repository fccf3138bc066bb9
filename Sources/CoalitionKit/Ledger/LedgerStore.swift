/// What the engine remembers of every applied record, in memory: enough to refuse a
/// duplicate and to check a reversal, without reading the journal.
public struct RecordEntry: Hashable, Sendable {
    public let seq: Int64
    public let kind: PostingKind
    public let units: Int64
    /// Units of this record undone by reversals so far.
    public var reversedUnits: Int64

    public init(seq: Int64, kind: PostingKind, units: Int64, reversedUnits: Int64) {
        self.seq = seq
        self.kind = kind
        self.units = units
        self.reversedUnits = reversedUnits
    }
}

/// Where a batch came from, for the batch log.
public struct BatchInfo: Hashable, Sendable {
    public var partner: PartnerID?
    /// A partner's batch sequence number, for settlement files.
    public var sequence: Int64?
    /// What submitted it: `file:<name>`, `seed`, `operator`, …
    public var source: String
    public var receivedAt: Timestamp

    public init(partner: PartnerID? = nil, sequence: Int64? = nil, source: String, receivedAt: Timestamp) {
        self.partner = partner
        self.sequence = sequence
        self.source = source
        self.receivedAt = receivedAt
    }
}

/// Everything the engine holds in memory, as the store loads it back.
public struct LedgerSnapshot: Sendable {
    public var members: [MemberNumber: MemberAccount] = [:]
    /// Balances of every account but members' (whose balances are their lots), by account
    /// and unit.
    public var accounts: [AccountKey: Int64] = [:]
    public var records: [RecordKey: RecordEntry] = [:]
    public var lastSeq: Int64 = 0
    public var lastHash: [UInt8] = Posting.genesisHash
    public var lastBatch: Int64 = 0
    public var lastLotID: Int64 = 0
    public var lastObligationID: Int64 = 0

    public init() {}
}

/// An account and unit: the key of a non-member balance.
public struct AccountKey: Hashable, Sendable, Comparable {
    public let account: String
    public let unit: String

    public init(_ account: String, _ unit: String) {
        self.account = account
        self.unit = unit
    }

    public static func < (lhs: AccountKey, rhs: AccountKey) -> Bool {
        (lhs.account, lhs.unit) < (rhs.account, rhs.unit)
    }
}

/// One batch's changes, handed to the store to write atomically.
public struct LedgerWrite: Sendable {
    public var batchID: Int64
    public var info: BatchInfo
    public var postings: [Posting] = []
    /// Lots created or changed (by id).
    public var lots: [Int64: Lot] = [:]
    /// Lots used up.
    public var deletedLots: Set<Int64> = []
    /// Members enrolled or changed.
    public var members: [MemberNumber: MemberAccount] = [:]
    /// New balances of the non-member accounts the batch touched.
    public var accounts: [AccountKey: Int64] = [:]
    /// Reversed units of earlier records that the batch's reversals changed, by posting seq.
    public var reversedUnits: [Int64: Int64] = [:]
    public var obligations: [Obligation] = []
    /// Bytes the front end wants kept with the batch (an acknowledgement), written in the
    /// same transaction.
    public var attachments: [String: [UInt8]] = [:]

    public init(batchID: Int64, info: BatchInfo) {
        self.batchID = batchID
        self.info = info
    }
}

/// The durable truth behind the engine. The embedded SQLite store and a later PostgreSQL
/// store implement it and pass the same tests.
public protocol LedgerStore: AnyObject {
    /// Everything the engine keeps in memory.
    func load() throws -> LedgerSnapshot

    /// Writes one batch in one transaction: afterwards either all of it is durable or none.
    func commit(_ write: LedgerWrite) throws

    /// The posting with sequence number `seq`.
    func posting(seq: Int64) throws -> Posting?

    /// Every posting in sequence order, for audit.
    func forEachPosting(_ body: (Posting) throws -> Void) throws

    /// Every obligation, optionally only those not yet in a cycle.
    func obligations(openOnly: Bool) throws -> [Obligation]

    /// The obligations `member`'s redemptions and reversals caused.
    func obligations(causedBy member: MemberNumber) throws -> [Obligation]
}
