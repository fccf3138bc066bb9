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

/// A record as the journal holds it: its key, and what a reversal needs to know of it.
public struct AppliedRecord: Hashable, Sendable {
    public let key: RecordKey
    public let entry: RecordEntry

    public init(key: RecordKey, entry: RecordEntry) {
        self.key = key
        self.entry = entry
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
    /// Every record id applied, as a fingerprint index: see `RecordIndex`.
    public var records = RecordIndex()
    public var lastSeq: Int64 = 0
    public var lastHash: [UInt8] = Posting.genesisHash
    public var lastBatch: Int64 = 0
    public var lastLotID: Int64 = 0
    public var lastObligationID: Int64 = 0
    /// Every referral link, and whether its bonus was paid.
    public var referrals = ReferralBook()

    public init() {}
}

/// An account and unit: the key of a non-member balance.
///
/// The key hashes its two strings once, when it is made: a posting's balance is looked up,
/// changed and marked for the store under one key, and each of those hashes one integer.
public struct AccountKey: Hashable, Sendable, Comparable {
    public let account: String
    public let unit: String
    private let hashCode: Int

    public init(_ account: String, _ unit: String) {
        self.account = account
        self.unit = unit
        var hasher = Hasher()
        hasher.combine(account)
        hasher.combine(unit)
        hashCode = hasher.finalize()
    }

    public static func == (lhs: AccountKey, rhs: AccountKey) -> Bool {
        lhs.hashCode == rhs.hashCode && lhs.account == rhs.account && lhs.unit == rhs.unit
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(hashCode) }

    public static func < (lhs: AccountKey, rhs: AccountKey) -> Bool {
        (lhs.account, lhs.unit) < (rhs.account, rhs.unit)
    }
}

/// A record rejected in a batch, kept with its reason.
public struct Rejection: Hashable, Sendable {
    /// The line of the settlement file (0 where the batch was not a file).
    public let line: Int
    public let recordID: String
    public let code: ReasonCode
    public let message: String

    public init(line: Int, recordID: String, code: ReasonCode, message: String) {
        self.line = line
        self.recordID = recordID
        self.code = code
        self.message = message
    }
}

/// The row a committed batch leaves: where it came from, what became of its records, and
/// for a settlement file what is needed to answer a replay with the same acknowledgement.
public struct BatchSummary: Hashable, Sendable {
    public let id: Int64
    public var info: BatchInfo
    public var records = 0
    public var accepted = 0
    public var rejected = 0
    /// The postings the batch made: `firstSeq...lastSeq` (nil when none).
    public var firstSeq: Int64?
    public var lastSeq: Int64?
    /// For a settlement file: its signature (hex), which identifies its bytes.
    public var fileSignature: String?
    public var fileCreatedAt: Timestamp?
    /// For a settlement file: the acknowledgement's key, time and signature (hex).
    public var ackKeyID: String?
    public var ackCreatedAt: Timestamp?
    public var ackSignature: String?
    /// Events to partners the batch causes: a store that keeps an outbox (`EventOutbox`)
    /// writes them in the batch's transaction, so they exist if and only if the batch
    /// committed. Not read back with the batch's row.
    public var events: [OutboxEvent] = []

    public init(id: Int64, info: BatchInfo) {
        self.id = id
        self.info = info
    }
}

/// One chunk of a batch's changes, written inside the batch's open transaction.
public struct LedgerWrite: Sendable {
    public var batchID: Int64
    public var postings = PostingRows()
    /// Lots created or changed (by id).
    public var lots: [Int64: Lot] = [:]
    /// Lots used up.
    public var deletedLots: Set<Int64> = []
    /// Members whose row the chunk changed, as they now stand (their lots are in `lots`).
    public var members: [MemberNumber: MemberAccount] = [:]
    /// New balances of the non-member accounts the chunk touched.
    public var accounts: [AccountKey: Int64] = [:]
    /// Reversed units of earlier records that the chunk's reversals changed, by posting seq.
    public var reversedUnits: [Int64: Int64] = [:]
    public var obligations: [Obligation] = []
    public var rejections: [Rejection] = []
    /// Members whose row (enrolment, tier, closure) must be written; the others' changes
    /// are all in their lots.
    public var memberRows: Set<MemberNumber> = []
    /// Qualifying points per member and day, as they now stand, in the order the chunk set
    /// them: a later entry for the same day supersedes an earlier one. A list, not a map: the
    /// engine appends without hashing, and the store keeps the batch's days in a map anyway.
    public var qualifying: [(key: QualifyingKey, points: Int64)] = []
    public var tierChanges: [TierChange] = []
    /// Lots that expired (by id), with what reversals booked back of them.
    public var expiredLots: [Int64: ExpiredLot] = [:]
    /// A clearing cycle closed by this batch.
    public var cycle: ClearingCycle?
    /// Referral links made or changed (bonus paid or taken back), as they now stand.
    public var referrals: [MemberNumber: Referral] = [:]

    public init(batchID: Int64) {
        self.batchID = batchID
    }
}

/// A member's qualifying points on one day: the key of a stored row.
public struct QualifyingKey: Hashable, Sendable {
    public let member: MemberNumber
    public let day: Int64

    public init(member: MemberNumber, day: Int64) {
        self.member = member
        self.day = day
    }
}

/// A lot that expired: its points became breakage of its issuer. A later reversal of the
/// earn that made it books them back (`reversed`) instead of taking them from the member.
public struct ExpiredLot: Hashable, Sendable {
    public let lotID: Int64
    public let member: MemberNumber
    public let issuer: PartnerID
    /// The points the lot ended with, and any a redemption reversal gave back to it since.
    public var points: Int64
    public let expiredAt: Timestamp
    public var reversed: Int64

    public init(
        lotID: Int64,
        member: MemberNumber,
        issuer: PartnerID,
        points: Int64,
        expiredAt: Timestamp,
        reversed: Int64
    ) {
        self.lotID = lotID
        self.member = member
        self.issuer = issuer
        self.points = points
        self.expiredAt = expiredAt
        self.reversed = reversed
    }
}

/// The durable truth behind the engine. The embedded SQLite store and a later PostgreSQL
/// store implement it and pass the same tests.
public protocol LedgerStore: AnyObject {
    /// Everything the engine keeps in memory.
    func load() throws -> LedgerSnapshot

    /// Opens the one transaction of a batch.
    func begin() throws
    /// Writes one chunk of the open batch.
    func write(_ write: LedgerWrite) throws
    /// Writes the batch's row and commits: afterwards either all of the batch is durable or,
    /// if this throws, none of it.
    func finish(_ summary: BatchSummary) throws
    /// Abandons the open batch.
    func rollback()

    /// The posting with sequence number `seq`.
    func posting(seq: Int64) throws -> Posting?

    /// The record posting `seq` applied, with its reversed units as they now stand (nil when
    /// the posting has no record behind it, or there is no such posting).
    func appliedRecord(seq: Int64) throws -> AppliedRecord?

    /// A hint that `appliedRecord` and `posting` will soon be asked for these postings (the
    /// originals of a chunk's reversals): a store may read them in one go. Nothing is
    /// promised; the answers are the same either way.
    func prefetch(seqs: [Int64]) throws

    /// Postings `range` in sequence order (the whole journal for audit).
    func forEachPosting(in range: ClosedRange<Int64>, _ body: (Posting) throws -> Void) throws

    /// Every obligation, optionally only those not yet in a cycle.
    func obligations(openOnly: Bool) throws -> [Obligation]

    /// The obligations `member`'s redemptions and reversals caused.
    func obligations(causedBy member: MemberNumber) throws -> [Obligation]

    /// The committed batch of `partner` with sequence number `sequence`.
    func batch(partner: PartnerID, sequence: Int64) throws -> BatchSummary?

    /// The highest batch sequence number committed for `partner` (0 for none).
    func lastSequence(partner: PartnerID) throws -> Int64

    /// The records batch `batch` rejected, in line order.
    func rejections(batch: Int64) throws -> [Rejection]

    /// The lot `id` if it expired.
    func expiredLot(_ id: Int64) throws -> ExpiredLot?

    /// Tier changes of `member`, oldest first.
    func tierChanges(member: MemberNumber) throws -> [TierChange]

    /// The postings that moved `member`'s points (as the member or a transfer's receiver),
    /// in sequence order, dated within `range`.
    func postings(member: MemberNumber, in range: ClosedRange<Timestamp>) throws -> [Posting]

    /// Every closed cycle, oldest first.
    func cycles() throws -> [ClearingCycle]

    /// Sums of the open obligations a cycle through `through` would take (dated at or before
    /// it, id at most `watermark`, not in an earlier cycle), and the batches that caused them.
    func openObligationTotals(
        through: Timestamp,
        watermark: Int64
    ) throws -> (
        totals: [ObligationTotal], batches: [BatchReference]
    )

    /// The obligations owed to `creditor`, in every cycle and open.
    func obligations(creditor: PartnerID) throws -> [Obligation]

    /// The obligations of cycle `number`.
    func obligations(cycle number: Int64) throws -> [Obligation]

    /// Keeps `state`, the state in memory now, where the next `load` can read it back
    /// quicker than from the store's tables; a store without such a place does nothing.
    /// Nothing durable depends on it: `load` uses it only if it matches the store.
    func saveState(_ state: LedgerSnapshot) throws
}

extension LedgerStore {
    public func saveState(_ state: LedgerSnapshot) throws {}

    public func prefetch(seqs: [Int64]) throws {}

    public func forEachPosting(_ body: (Posting) throws -> Void) throws {
        try forEachPosting(in: 1...Int64.max, body)
    }
}
