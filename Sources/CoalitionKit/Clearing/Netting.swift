/// A participant in settlement: a partner, or the clearing house itself (which collects
/// fees and, in the central-counterparty form, stands between payers and receivers).
public enum Participant: Hashable, Comparable, Sendable, CustomStringConvertible {
    case partner(PartnerID)
    case clearingHouse

    public static let clearingHouseName = "COALITION"

    public var description: String {
        switch self {
        case .partner(let id): id.rawValue
        case .clearingHouse: Participant.clearingHouseName
        }
    }

    public static func < (lhs: Participant, rhs: Participant) -> Bool { lhs.description < rhs.description }

    /// The participant a party of an obligation is: the coalition's own issuer (points it
    /// funds, such as referral bonuses) is the clearing house, one party with its fees.
    public init(party id: PartnerID) { self = id == .coalition ? .clearingHouse : .partner(id) }
}

/// One payment of a settlement: `payer` pays `payee` `amount` minor units.
public struct SettlementInstruction: Hashable, Sendable {
    public let currency: Currency
    public let payer: Participant
    public let payee: Participant
    public let amount: Int64

    public init(currency: Currency, payer: Participant, payee: Participant, amount: Int64) {
        self.currency = currency
        self.payer = payer
        self.payee = payee
        self.amount = amount
    }
}

/// The clearing of one currency: who owes whom gross, each participant's single net amount,
/// and the payments that settle exactly those nets.
public struct CurrencyClearing: Sendable {
    public let currency: Currency
    /// Gross bilateral matrix: `gross[debtor][creditor]` = what the debtor owes the creditor
    /// (negative amounts of reversals already subtracted). Only pairs with a non-zero sum.
    public let gross: [PartnerID: [PartnerID: Int64]]
    /// Net position per participant: plus receives, minus pays. Sums to zero.
    public let net: [Participant: Int64]
    /// Clearing fees per partner (what the clearing house keeps of what they receive).
    public let fees: [PartnerID: Int64]
    /// Every participant pays the clearing house or is paid by it.
    public let centralCounterparty: [SettlementInstruction]
    /// Payments directly between participants: at most one fewer than the participants with
    /// a non-zero net.
    public let fewestPayments: [SettlementInstruction]

    public init(
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
    public var grossTotal: Int64 {
        gross.values.reduce(0) { sum, row in row.values.reduce(sum) { $0 + Swift.abs($1) } }
    }

    /// What moves after netting: the sum of what the payers pay.
    public var netTotal: Int64 { net.values.reduce(0) { $0 + Swift.max(0, -$1) } }

    /// 1 − net ÷ gross, in basis points (10,000 = everything netted away); nil without gross.
    public var nettingEfficiencyBasisPoints: Int64? {
        let gross = grossTotal
        guard gross > 0 else { return nil }
        return (Int64(10_000) * (gross - netTotal)) / gross
    }

    public var grossOwed: [PartnerID: Int64] {
        var owed: [PartnerID: Int64] = [:]
        for (debtor, row) in gross { owed[debtor] = row.values.reduce(0, +) }
        return owed
    }

    public var grossDue: [PartnerID: Int64] {
        var due: [PartnerID: Int64] = [:]
        for row in gross.values { for (creditor, amount) in row { due[creditor, default: 0] += amount } }
        return due
    }
}

/// Multilateral netting: pure functions over obligations, no storage.
public enum Netting {
    /// Nets `obligations` per currency. `feeBasisPoints` of what each partner receives (its
    /// positive net) goes to the clearing house, rounded down to the minor unit.
    public static func clear(_ obligations: [Obligation], feeBasisPoints: Int64) throws -> [CurrencyClearing] {
        let totals = obligations.map {
            ObligationTotal(
                debtor: $0.debtor,
                creditor: $0.creditor,
                currency: $0.currency,
                amount: $0.amount,
                points: $0.points,
                count: 1
            )
        }
        return try clear(totals: totals, feeBasisPoints: feeBasisPoints)
    }

    static func clear(
        currency: Currency,
        gross raw: [PartnerID: [PartnerID: Int64]],
        feeBasisPoints: Int64
    ) throws
        -> CurrencyClearing
    {
        var gross: [PartnerID: [PartnerID: Int64]] = [:]
        var net: [Participant: Int64] = [:]
        for (debtor, row) in raw {
            for (creditor, amount) in row where amount != 0 {
                gross[debtor, default: [:]][creditor] = amount
                let payer = Participant(party: debtor)
                let payee = Participant(party: creditor)
                net[payer] = try Checked.subtract(net[payer] ?? 0, amount)
                net[payee] = try Checked.add(net[payee] ?? 0, amount)
            }
        }
        var fees: [PartnerID: Int64] = [:]
        if feeBasisPoints > 0 {
            for (participant, amount) in net where amount > 0 {
                guard case .partner(let id) = participant else { continue }
                let fee = try Checked.narrow(Int128(amount) * Int128(feeBasisPoints) / 10_000)
                guard fee > 0 else { continue }
                fees[id] = fee
                net[participant] = amount - fee
                net[.clearingHouse, default: 0] += fee
            }
        }
        net = net.filter { $0.value != 0 }
        return CurrencyClearing(
            currency: currency,
            gross: gross,
            net: net,
            fees: fees,
            centralCounterparty: centralCounterparty(currency, net),
            fewestPayments: fewestPayments(currency, net)
        )
    }

    /// Each net payer pays the clearing house; the clearing house pays each net receiver.
    static func centralCounterparty(_ currency: Currency, _ net: [Participant: Int64]) -> [SettlementInstruction] {
        net.sorted { $0.key < $1.key }.compactMap { participant, amount in
            guard participant != .clearingHouse, amount != 0 else { return nil }
            return amount < 0
                ? SettlementInstruction(currency: currency, payer: participant, payee: .clearingHouse, amount: -amount)
                : SettlementInstruction(currency: currency, payer: .clearingHouse, payee: participant, amount: amount)
        }
    }

    /// Greedy matching of the largest payer with the largest receiver: every payment settles
    /// at least one participant in full, so n participants need at most n − 1 payments.
    static func fewestPayments(_ currency: Currency, _ net: [Participant: Int64]) -> [SettlementInstruction] {
        var payers = net.filter { $0.value < 0 }.map { ($0.key, -$0.value) }
        var receivers = net.filter { $0.value > 0 }.map { ($0.key, $0.value) }
        func order(_ a: (Participant, Int64), _ b: (Participant, Int64)) -> Bool {
            a.1 != b.1 ? a.1 > b.1 : a.0 < b.0
        }
        var out: [SettlementInstruction] = []
        while !payers.isEmpty && !receivers.isEmpty {
            payers.sort(by: order)
            receivers.sort(by: order)
            let amount = min(payers[0].1, receivers[0].1)
            out.append(
                SettlementInstruction(currency: currency, payer: payers[0].0, payee: receivers[0].0, amount: amount)
            )
            payers[0].1 -= amount
            receivers[0].1 -= amount
            if payers[0].1 == 0 { payers.removeFirst() }
            if receivers[0].1 == 0 { receivers.removeFirst() }
        }
        return out
    }
}
