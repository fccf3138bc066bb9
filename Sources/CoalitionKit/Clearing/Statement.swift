/// A partner's signed statement for a clearing cycle (coalition → partner):
///
/// ```
/// H|COALITION-STATEMENT|1|C2P|<partner>|<cycle>|<closed-at>|<key id>
/// CYCLE|<cycle>|<through>|<obligations in the cycle>
/// G|<currency>|<counterparty>|<owed to it>|<due from it>|<net with it>
/// N|<currency>|<gross owed>|<gross due>|<fee>|<net position>
/// P|<currency>|<CCP or DIRECT>|<PAY or RECEIVE>|<counterparty>|<amount>
/// D|<currency>|<payer>|<amount>|<partner whose clearing fee it settles>
/// O|<currency>|<debtor>|<creditor>|<source>|<record id>|<points>|<amount>
/// B|<partner>|<batch sequence>
/// T|<G lines>|<N lines>|<P lines>|<B lines>|<O lines>|<D lines>
/// S|<signature>
/// ```
/// Per currency (in code order): G, N, P (CCP, then DIRECT), D, O; then B and T.
/// Amounts are whole minor units of the currency (cents); nets are plus when the partner
/// receives.
package enum Statement {
    /// The statement's lines for `partner` (without the signature line). `obligations` are
    /// the cycle's (`LedgerStore.obligations(cycle:)`): those `partner` is a party to are
    /// listed behind its gross figures.
    package static func lines(
        for partner: PartnerID,
        cycle: ClearingCycle,
        keyID: String,
        obligations: [Obligation] = []
    ) -> [String] {
        let header = FileHeader(
            kind: .statement,
            partner: partner,
            sequence: cycle.number,
            createdAt: cycle.closedAt,
            keyID: keyID
        )
        var lines = [header.line, "CYCLE|\(cycle.number)|\(cycle.through)|\(cycle.obligationCount)"]
        var counts = (g: 0, n: 0, p: 0, b: 0, o: 0, d: 0)
        let me = Participant.partner(partner)
        for clearing in cycle.clearings {
            let code = clearing.currency.code
            var counterparties = Set(clearing.gross[partner]?.keys.map { $0 } ?? [])
            for (debtor, row) in clearing.gross where row[partner] != nil { counterparties.insert(debtor) }
            for other in counterparties.sorted() {
                let owed = clearing.gross[partner]?[other] ?? 0
                let due = clearing.gross[other]?[partner] ?? 0
                lines.append("G|\(code)|\(other)|\(owed)|\(due)|\(due - owed)")
                counts.g += 1
            }
            let owed = clearing.grossOwed[partner] ?? 0
            let due = clearing.grossDue[partner] ?? 0
            guard owed != 0 || due != 0 || clearing.net[me] != nil else { continue }
            lines.append("N|\(code)|\(owed)|\(due)|\(clearing.fees[partner] ?? 0)|\(clearing.net[me] ?? 0)")
            counts.n += 1
            for (form, list) in [("CCP", clearing.centralCounterparty), ("DIRECT", clearing.fewestPayments)] {
                for payment in list where payment.payer == me || payment.payee == me {
                    let pays = payment.payer == me
                    lines.append(
                        "P|\(code)|\(form)|\(pays ? "PAY" : "RECEIVE")|\(pays ? payment.payee : payment.payer)|\(payment.amount)"
                    )
                    counts.p += 1
                }
            }
            for share in feeShares(clearing) where share.payer == me || share.owner == partner {
                lines.append("D|\(code)|\(share.payer)|\(share.amount)|\(share.owner)")
                counts.d += 1
            }
            for o in obligations
            where o.currency == clearing.currency && (o.debtor == partner || o.creditor == partner) {
                lines.append(
                    "O|\(code)|\(o.debtor)|\(o.creditor)|\(o.source.partner)|\(o.source.recordID)|\(o.points)|\(o.amount)"
                )
                counts.o += 1
            }
        }
        for batch in cycle.batches where batch.partner == partner || batch.counterparties.contains(partner) {
            lines.append("B|\(batch.partner)|\(batch.sequence)")
            counts.b += 1
        }
        lines.append("T|\(counts.g)|\(counts.n)|\(counts.p)|\(counts.b)|\(counts.o)|\(counts.d)")
        return lines
    }

    /// Which partners' clearing fees the DIRECT form's payments to the clearing house
    /// settle. A fee is kept of what a partner receives; in the DIRECT form the payer whose
    /// payment would have carried it pays it to the clearing house instead, on that partner's
    /// behalf. Payments to the clearing house (in the order listed) are matched with the fees
    /// (by partner id) first to first; the shares add up to both.
    static func feeShares(_ clearing: CurrencyClearing) -> [(payer: Participant, amount: Int64, owner: PartnerID)] {
        var fees = clearing.fees.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        var shares: [(payer: Participant, amount: Int64, owner: PartnerID)] = []
        for payment in clearing.fewestPayments where payment.payee == .clearingHouse {
            var left = payment.amount
            while left > 0, !fees.isEmpty {
                let part = min(left, fees[0].1)
                shares.append((payment.payer, part, fees[0].0))
                left -= part
                fees[0].1 -= part
                if fees[0].1 == 0 { fees.removeFirst() }
            }
        }
        return shares
    }

    /// `HARBOR-cycle-000003.stmt`
    package static func fileName(for partner: PartnerID, cycle: Int64) -> String {
        let number = String(cycle)
        return "\(partner)-cycle-" + String(repeating: "0", count: max(0, 6 - number.count)) + number + ".stmt"
    }
}
