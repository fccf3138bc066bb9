/// A closed clearing cycle: every obligation not in an earlier cycle, dated up to `through`
/// and known when it closed, netted per currency. A closed cycle never changes; a correction
/// arrives as an obligation of a later cycle.
public struct ClearingCycle: Sendable {
    public let number: Int64
    /// The cut-off, inclusive: obligations dated at or before it joined.
    public let through: Timestamp
    public let closedAt: Timestamp
    /// The highest obligation id that existed when it closed: obligations recorded later
    /// wait for the next cycle, whatever their date.
    public let watermark: Int64
    public let obligationCount: Int
    /// The settlement posting in the journal.
    public let postingSeq: Int64
    public let clearings: [CurrencyClearing]
    /// Batches whose records caused the cycle's obligations: (partner, batch sequence).
    public let batches: [BatchReference]

    public init(
        number: Int64,
        through: Timestamp,
        closedAt: Timestamp,
        watermark: Int64,
        obligationCount: Int,
        postingSeq: Int64,
        clearings: [CurrencyClearing],
        batches: [BatchReference]
    ) {
        self.number = number
        self.through = through
        self.closedAt = closedAt
        self.watermark = watermark
        self.obligationCount = obligationCount
        self.postingSeq = postingSeq
        self.clearings = clearings
        self.batches = batches
    }

    /// Whether an obligation belongs to this cycle's window (not counting earlier cycles).
    public func covers(id: Int64, occurredAt: Timestamp) -> Bool { id <= watermark && occurredAt <= through }
}

/// A partner's batch, by its own sequence number, and the partners its obligations involve.
public struct BatchReference: Hashable, Sendable {
    public let partner: PartnerID
    public let sequence: Int64
    public let counterparties: Set<PartnerID>

    public init(partner: PartnerID, sequence: Int64, counterparties: Set<PartnerID>) {
        self.partner = partner
        self.sequence = sequence
        self.counterparties = counterparties
    }
}

/// Sums of open obligations per debtor, creditor and currency, as a cycle collects them.
public struct ObligationTotal: Hashable, Sendable {
    public let debtor: PartnerID
    public let creditor: PartnerID
    public let currency: Currency
    public let amount: Int64
    public let points: Int64
    public let count: Int

    public init(debtor: PartnerID, creditor: PartnerID, currency: Currency, amount: Int64, points: Int64, count: Int) {
        self.debtor = debtor
        self.creditor = creditor
        self.currency = currency
        self.amount = amount
        self.points = points
        self.count = count
    }
}
