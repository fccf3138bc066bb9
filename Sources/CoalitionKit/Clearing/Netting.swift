/// Multilateral netting: pure functions over obligations, no storage.
package enum Netting {
    /// Nets `obligations` per currency. `feeBasisPoints` of what each partner receives (its
    /// positive net) goes to the clearing house, rounded down to the minor unit.
    package static func clear(_ obligations: [Obligation], feeBasisPoints: Int64) throws -> [CurrencyClearing] {
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
