/// A closed clearing cycle: every obligation not in an earlier cycle, dated up to `through`
/// and known when it closed, netted per currency. A closed cycle never changes; a correction
/// arrives as an obligation of a later cycle.
package struct ClearingCycle: Sendable {
    package let number: Int64
    /// The cut-off, inclusive: obligations dated at or before it joined.
    package let through: Timestamp
    package let closedAt: Timestamp
    /// The highest obligation id that existed when it closed: obligations recorded later
    /// wait for the next cycle, whatever their date.
    package let watermark: Int64
    package let obligationCount: Int
    /// The settlement posting in the journal.
    package let postingSeq: Int64
    package let clearings: [CurrencyClearing]
    /// Batches whose records caused the cycle's obligations: (partner, batch sequence).
    package let batches: [BatchReference]

    package init(
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
    package func covers(id: Int64, occurredAt: Timestamp) -> Bool { id <= watermark && occurredAt <= through }
}

/// A partner's batch, by its own sequence number, and the partners its obligations involve.
package struct BatchReference: Hashable, Sendable {
    package let partner: PartnerID
    package let sequence: Int64
    package let counterparties: Set<PartnerID>

    package init(partner: PartnerID, sequence: Int64, counterparties: Set<PartnerID>) {
        self.partner = partner
        self.sequence = sequence
        self.counterparties = counterparties
    }
}

/// Sums of open obligations per debtor, creditor and currency, as a cycle collects them.
package struct ObligationTotal: Hashable, Sendable {
    package let debtor: PartnerID
    package let creditor: PartnerID
    package let currency: Currency
    package let amount: Int64
    package let points: Int64
    package let count: Int

    package init(debtor: PartnerID, creditor: PartnerID, currency: Currency, amount: Int64, points: Int64, count: Int) {
        self.debtor = debtor
        self.creditor = creditor
        self.currency = currency
        self.amount = amount
        self.points = points
        self.count = count
    }
}

/// A participant in settlement: a partner, or the clearing house itself (which collects
/// fees and, in the central-counterparty form, stands between payers and receivers).
package enum Participant: Hashable, Comparable, Sendable, CustomStringConvertible {
    case partner(PartnerID)
    case clearingHouse

    package static let clearingHouseName = "COALITION"

    package var description: String {
        switch self {
        case .partner(let id): id.rawValue
        case .clearingHouse: Participant.clearingHouseName
        }
    }

    package static func < (lhs: Participant, rhs: Participant) -> Bool { lhs.description < rhs.description }

    /// The participant a party of an obligation is: the coalition's own issuer (points it
    /// funds, such as referral bonuses) is the clearing house, one party with its fees.
    package init(party id: PartnerID) { self = id == .coalition ? .clearingHouse : .partner(id) }
}

/// One payment of a settlement: `payer` pays `payee` `amount` minor units.
package struct SettlementInstruction: Hashable, Sendable {
    package let currency: Currency
    package let payer: Participant
    package let payee: Participant
    package let amount: Int64

    package init(currency: Currency, payer: Participant, payee: Participant, amount: Int64) {
        self.currency = currency
        self.payer = payer
        self.payee = payee
        self.amount = amount
    }
}

/// The clearing of one currency: who owes whom gross, each participant's single net amount,
/// and the payments that settle exactly those nets.
package struct CurrencyClearing: Sendable {
    package let currency: Currency
    /// Gross bilateral matrix: `gross[debtor][creditor]` = what the debtor owes the creditor
    /// (negative amounts of reversals already subtracted). Only pairs with a non-zero sum.
    package let gross: [PartnerID: [PartnerID: Int64]]
    /// Net position per participant: plus receives, minus pays. Sums to zero.
    package let net: [Participant: Int64]
    /// Clearing fees per partner (what the clearing house keeps of what they receive).
    package let fees: [PartnerID: Int64]
    /// Every participant pays the clearing house or is paid by it.
    package let centralCounterparty: [SettlementInstruction]
    /// Payments directly between participants: at most one fewer than the participants with
    /// a non-zero net.
    package let fewestPayments: [SettlementInstruction]

    package init(
        currency: Currency,
        gross: [PartnerID: [PartnerID: Int64]],
        net: [Participant: Int64],
        fees: [PartnerID: Int64],
        centralCounterparty: [SettlementInstruction],
        fewestPayments: [SettlementInstruction]
    ) {
        self.currency = currency
        self.gross = gross
        self.net = net
        self.fees = fees
        self.centralCounterparty = centralCounterparty
        self.fewestPayments = fewestPayments
    }

    /// What would move without netting: every pair's sum, in whichever direction it runs. A
    /// pair can owe less than nothing (a reversal of a redemption settled in an earlier cycle):
    /// then the creditor pays the debtor back, and that moves too, so gross stays at least net.
    package var grossTotal: Int64 {
        gross.values.reduce(0) { sum, row in row.values.reduce(sum) { $0 + Swift.abs($1) } }
    }

    /// What moves after netting: the sum of what the payers pay.
    package var netTotal: Int64 { net.values.reduce(0) { $0 + Swift.max(0, -$1) } }

    /// 1 − net ÷ gross, in basis points (10,000 = everything netted away); nil without gross.
    package var nettingEfficiencyBasisPoints: Int64? {
        let gross = grossTotal
        guard gross > 0 else { return nil }
        return (Int64(10_000) * (gross - netTotal)) / gross
    }

    package var grossOwed: [PartnerID: Int64] {
        var owed: [PartnerID: Int64] = [:]
        for (debtor, row) in gross { owed[debtor] = row.values.reduce(0, +) }
        return owed
    }

    package var grossDue: [PartnerID: Int64] {
        var due: [PartnerID: Int64] = [:]
        for row in gross.values { for (creditor, amount) in row { due[creditor, default: 0] += amount } }
        return due
    }
}
