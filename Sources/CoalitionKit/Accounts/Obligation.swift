/// What one partner owes another for a cross-brand redemption (or, with a negative amount,
/// the undoing of one). Issuer pays redeemer.
package struct Obligation: Hashable, Sendable {
    package let id: Int64
    package let postingSeq: Int64
    /// The batch whose record caused it.
    package let batch: Int64
    /// The issuer of the points: it pays.
    package let debtor: PartnerID
    /// The partner where the points were spent: it is paid.
    package let creditor: PartnerID
    package let currency: Currency
    /// Minor units of `currency`; negative where a reversal undoes an earlier obligation.
    package let amount: Int64
    package let points: Int64
    package let occurredAt: Timestamp
    /// The record that caused it, and the member whose points moved.
    package let source: RecordKey
    package let member: MemberNumber
    /// The clearing cycle it was settled in; nil while open.
    package var cycle: Int64?

    package init(
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
