/// What one partner owes another for a cross-brand redemption (or, with a negative amount,
/// the undoing of one). Issuer pays redeemer.
public struct Obligation: Hashable, Sendable {
    public let id: Int64
    public let postingSeq: Int64
    /// The batch whose record caused it.
    public let batch: Int64
    /// The issuer of the points: it pays.
    public let debtor: PartnerID
    /// The partner where the points were spent: it is paid.
    public let creditor: PartnerID
    public let currency: Currency
    /// Minor units of `currency`; negative where a reversal undoes an earlier obligation.
    public let amount: Int64
    public let points: Int64
    public let occurredAt: Timestamp
    /// The record that caused it, and the member whose points moved.
    public let source: RecordKey
    public let member: MemberNumber
    /// The clearing cycle it was settled in; nil while open.
    public var cycle: Int64?

    public init(
        id: Int64,
        postingSeq: Int64,
        batch: Int64,
        debtor: PartnerID,
        creditor: PartnerID,
        currency: Currency,
        amount: Int64,
        points: Int64,
        occurredAt: Timestamp,
        source: RecordKey,
        member: MemberNumber,
        cycle: Int64?
    ) {
        self.id = id
        self.postingSeq = postingSeq
        self.batch = batch
        self.debtor = debtor
        self.creditor = creditor
        self.currency = currency
        self.amount = amount
        self.points = points
        self.occurredAt = occurredAt
        self.source = source
        self.member = member
        self.cycle = cycle
    }
}
