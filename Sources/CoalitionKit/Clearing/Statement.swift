/// A partner's signed statement for a clearing cycle (coalition → partner):
///
/// ```
/// H|COALITION-STATEMENT|1|C2P|<partner>|<cycle>|<closed-at>|<key id>
/// CYCLE|<cycle>|<through>|<obligations in the cycle>
/// G|<currency>|<counterparty>|<owed to it>|<due from it>|<net with it>
/// N|<currency>|<gross owed>|<gross due>|<fee>|<net position>
/// P|<currency>|<CCP or DIRECT>|<PAY or RECEIVE>|<counterparty>|<amount>
/// B|<partner>|<batch sequence>
/// T|<G lines>|<N lines>|<P lines>|<B lines>
/// S|<signature>
/// ```
/// Amounts are whole minor units of the currency (cents); nets are plus when the partner
/// receives.
public enum Statement {
    /// The statement's lines for `partner` (without the signature line).
    public static func lines(for partner: PartnerID, cycle: ClearingCycle, keyID: String) -> [String] {
        let header = FileHeader(
            kind: .statement,
            partner: partner,
            sequence: cycle.number,
            createdAt: cycle.closedAt,
            keyID: keyID
        )
        var lines = [header.line, "CYCLE|\(cycle.number)|\(cycle.through)|\(cycle.obligationCount)"]
        var counts = (g: 0, n: 0, p: 0, b: 0)
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
        }
        for batch in cycle.batches where batch.partner == partner || batch.counterparties.contains(partner) {
            lines.append("B|\(batch.partner)|\(batch.sequence)")
            counts.b += 1
        }
        lines.append("T|\(counts.g)|\(counts.n)|\(counts.p)|\(counts.b)")
        return lines
    }

    /// Writes and signs `partner`'s statement of `cycle` at `path`, under the partner's
    /// newest key valid when the cycle closed.
    @discardableResult
    public static func write(
        for partner: PartnerID,
        cycle: ClearingCycle,
        ring: KeyRing,
        to path: String
    ) throws
        -> [UInt8]
    {
        let key = try ring.signingKey(at: cycle.closedAt)
        let temporary = TemporaryPath.beside(path)
        let writer = try SignedFileWriter(path: temporary, key: key.secret)
        for line in lines(for: partner, cycle: cycle, keyID: key.info.id) { try writer.line(line) }
        let signature = try writer.finish()
        try SignedFileWriter.rename(temporary, to: path)
        return signature
    }

    /// `HARBOR-cycle-000003.stmt`
    public static func fileName(for partner: PartnerID, cycle: Int64) -> String {
        let number = String(cycle)
        return "\(partner)-cycle-" + String(repeating: "0", count: max(0, 6 - number.count)) + number + ".stmt"
    }
}
