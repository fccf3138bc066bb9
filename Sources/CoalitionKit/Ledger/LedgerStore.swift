/// What the engine remembers of every applied record, in memory: enough to refuse a
/// duplicate and to check a reversal, without reading the journal.
package struct RecordEntry: Hashable, Sendable {
    package let seq: Int64
    package let kind: PostingKind
    package let units: Int64
    /// Units of this record undone by reversals so far.
    package var reversedUnits: Int64

    package init(seq: Int64, kind: PostingKind, units: Int64, reversedUnits: Int64) {
        self.seq = seq
        self.kind = kind
        self.units = units
        self.reversedUnits = reversedUnits
    }
}

/// A record as the journal holds it: its key, and what a reversal needs to know of it.
package struct AppliedRecord: Hashable, Sendable {
    package let key: RecordKey
    package let entry: RecordEntry

    package init(key: RecordKey, entry: RecordEntry) {
        self.key = key
        self.entry = entry
    }
}

/// Where a batch came from, for the batch log.
package struct BatchInfo: Hashable, Sendable {
    package var partner: PartnerID?
    /// A partner's batch sequence number, for settlement files.
    package var sequence: Int64?
    /// What submitted it: `file:<name>`, `seed`, `operator`, …
    package var source: String
    package var receivedAt: Timestamp

    package init(partner: PartnerID? = nil, sequence: Int64? = nil, source: String, receivedAt: Timestamp) {
        self.partner = partner
        self.sequence = sequence
        self.source = source
        self.receivedAt = receivedAt
    }
}

/// Everything the engine holds in memory, as the store loads it back.
package struct LedgerSnapshot: Sendable {
    package var members: [MemberNumber: MemberAccount] = [:]
    /// Balances of every account but members' (whose balances are their lots), by account
    /// and unit.
    package var accounts: [AccountKey: Int64] = [:]
    /// Every record id applied, as a fingerprint index: see `RecordIndex`.
    package var records = RecordIndex()
    package var lastSeq: Int64 = 0
    package var lastHash: [UInt8] = Posting.genesisHash
    package var lastBatch: Int64 = 0
    package var lastLotID: Int64 = 0
    package var lastObligationID: Int64 = 0
    /// Every referral link, and whether its bonus was paid.
    package var referrals = ReferralBook()

    package init() {}
}

/// An account and unit: the key of a non-member balance.
///
/// The key hashes its two strings once, when it is made: a posting's balance is looked up,
/// changed and marked for the store under one key, and each of those hashes one integer.
package struct AccountKey: Hashable, Sendable, Comparable {
    package let account: String
    package let unit: String
    private let hashCode: Int

    package init(_ account: String, _ unit: String) {
        self.account = account
        self.unit = unit
        var hasher = Hasher()
        hasher.combine(account)
        hasher.combine(unit)
        hashCode = hasher.finalize()
    }

    package static func == (lhs: AccountKey, rhs: AccountKey) -> Bool {
        lhs.hashCode == rhs.hashCode && lhs.account == rhs.account && lhs.unit == rhs.unit
    }

    package func hash(into hasher: inout Hasher) { hasher.combine(hashCode) }

    package static func < (lhs: AccountKey, rhs: AccountKey) -> Bool {
        (lhs.account, lhs.unit) < (rhs.account, rhs.unit)
    }
}

/// A record rejected in a batch, kept with its reason.
package struct Rejection: Hashable, Sendable {
    /// The line of the settlement file (0 where the batch was not a file).
    package let line: Int
    package let recordID: String
    package let code: ReasonCode
    package let message: String

    package init(line: Int, recordID: String, code: ReasonCode, message: String) {
        self.line = line
        self.recordID = recordID
        self.code = code
        self.message = message
    }
}

/// The row a committed batch leaves: where it came from, what became of its records, and
/// for a settlement file what is needed to answer a replay with the same acknowledgement.
package struct BatchSummary: Hashable, Sendable {
    package let id: Int64
    package var info: BatchInfo
    package var records = 0
    package var accepted = 0
    package var rejected = 0
    /// The postings the batch made: `firstSeq...lastSeq` (nil when none).
    package var firstSeq: Int64?
    package var lastSeq: Int64?
    /// For a settlement file: its signature (hex), which identifies its bytes.
    package var fileSignature: String?
    package var fileCreatedAt: Timestamp?
    /// For a settlement file: the acknowledgement's key, time and signature (hex).
    package var ackKeyID: String?
    package var ackCreatedAt: Timestamp?
    package var ackSignature: String?
    /// Events to partners the batch causes: a store that keeps an outbox (`EventOutbox`)
    /// writes them in the batch's transaction, so they exist if and only if the batch
    /// committed. Not read back with the batch's row.
    package var events: [OutboxEvent] = []

    package init(id: Int64, info: BatchInfo) {
        self.id = id
        self.info = info
    }
}

/// One chunk of a batch's changes, written inside the batch's open transaction.
package struct LedgerWrite: Sendable {
    package var batchID: Int64
    package var postings = PostingRows()
    /// Lots created or changed (by id).
    package var lots: [Int64: Lot] = [:]
    /// Lots used up.
    package var deletedLots: Set<Int64> = []
    /// Members whose row the chunk changed, as they now stand (their lots are in `lots`).
    package var members: [MemberNumber: MemberAccount] = [:]
    /// New balances of the non-member accounts the chunk touched.
    package var accounts: [AccountKey: Int64] = [:]
    /// Reversed units of earlier records that the chunk's reversals changed, by posting seq.
    package var reversedUnits: [Int64: Int64] = [:]
    package var obligations: [Obligation] = []
    package var rejections: [Rejection] = []
    /// Members whose row (enrolment, tier, closure) must be written; the others' changes
    /// are all in their lots.
    package var memberRows: Set<MemberNumber> = []
    /// Qualifying points per member and day, as they now stand, in the order the chunk set
    /// them: a later entry for the same day supersedes an earlier one. A list, not a map: the
    /// engine appends without hashing, and the store keeps the batch's days in a map anyway.
    package var qualifying: [(key: QualifyingKey, points: Int64)] = []
    package var tierChanges: [TierChange] = []
    /// Lots that expired (by id), with what reversals booked back of them.
    package var expiredLots: [Int64: ExpiredLot] = [:]
    /// A clearing cycle closed by this batch.
    package var cycle: ClearingCycle?
    /// Referral links made or changed (bonus paid or taken back), as they now stand.
    package var referrals: [MemberNumber: Referral] = [:]

    package init(batchID: Int64) {
        self.batchID = batchID
    }
}

/// A member's qualifying points on one day: the key of a stored row.
package struct QualifyingKey: Hashable, Sendable {
    package let member: MemberNumber
    package let day: Int64

    package init(member: MemberNumber, day: Int64) {
        self.member = member
        self.day = day
    }
}

/// A lot that expired: its points became breakage of its issuer. A later reversal of the
/// earn that made it books them back (`reversed`) instead of taking them from the member.
package struct ExpiredLot: Hashable, Sendable {
    package let lotID: Int64
    package let member: MemberNumber
    package let issuer: PartnerID
    /// The points the lot ended with, and any a redemption reversal gave back to it since.
    package var points: Int64
    package let expiredAt: Timestamp
    package var reversed: Int64

    package init(
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
package protocol LedgerStore: AnyObject {
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
    package func saveState(_ state: LedgerSnapshot) throws {}

    package func prefetch(seqs: [Int64]) throws {}

    package func forEachPosting(_ body: (Posting) throws -> Void) throws {
        try forEachPosting(in: 1...Int64.max, body)
    }
}
