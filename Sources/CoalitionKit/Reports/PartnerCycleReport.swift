import Foundation

/// One partner's view of a closed cycle, for its finance team: per currency, what each
/// counterparty owes it and what it owes each (gross), its clearing fee, its net, and the
/// settlement instructions it takes part in; and the obligations behind them as CSV.
package struct PartnerCycleReport: Sendable {
    /// One currency of the partner's cycle.
    package struct Currency: Sendable {
        package let currency: CoalitionKit.Currency
        /// Gross amounts by counterparty: `due` is what the counterparty owes this partner.
        package let counterparties: [(partner: PartnerID, due: Int64, owed: Int64)]
        package let dueTotal: Int64
        package let owedTotal: Int64
        package let fee: Int64
        /// due − owed − fee.
        package let net: Int64
        package let throughClearingHouse: [SettlementInstruction]
        package let fewestPayments: [SettlementInstruction]
    }

    package let partner: PartnerID
    package let cycle: ClearingCycle
    package let currencies: [Currency]
    /// The cycle's obligations this partner is the debtor or the creditor of, by id.
    package let obligations: [Obligation]

    /// The partner's part of `cycle`, from the cycle's obligations (`store.obligations(cycle:)`).
    package init(partner: PartnerID, cycle: ClearingCycle, obligations all: [Obligation]) {
        self.partner = partner
        self.cycle = cycle
        obligations = all.filter { $0.debtor == partner || $0.creditor == partner }.sorted { $0.id < $1.id }
        let me = Participant.partner(partner)
        currencies = cycle.clearings.compactMap { c -> Currency? in
            var others = Set(c.gross[partner]?.keys.map { $0 } ?? [])
            for (debtor, row) in c.gross where row[partner] != nil { others.insert(debtor) }
            let involved = c.centralCounterparty.contains { $0.payer == me || $0.payee == me }
            guard !others.isEmpty || involved || c.net[me] != nil else { return nil }
            let rows = others.sorted().map { other in
                (partner: other, due: c.gross[other]?[partner] ?? 0, owed: c.gross[partner]?[other] ?? 0)
            }
            return Currency(
                currency: c.currency,
                counterparties: rows,
                dueTotal: c.grossDue[partner] ?? 0,
                owedTotal: c.grossOwed[partner] ?? 0,
                fee: c.fees[partner] ?? 0,
                net: c.net[me] ?? 0,
                throughClearingHouse: c.centralCounterparty.filter { $0.payer == me || $0.payee == me },
                fewestPayments: c.fewestPayments.filter { $0.payer == me || $0.payee == me }
            )
        }
    }

    package static func fileName(partner: PartnerID, cycle: Int64, extension ext: String) -> String {
        let text = String(cycle)
        return "cycle-" + String(repeating: "0", count: max(0, 6 - text.count)) + text + "-\(partner).\(ext)"
    }

    /// The page: self-contained HTML, well-formed XML, no scripts.
    package func html(network: Network) -> String {
        let name = network.partners[partner]?.name ?? partner.rawValue
        var body = "<h1>\(CycleReport.escape(name)) (\(partner)): clearing cycle \(cycle.number)</h1>\n"
        body += "<p class=\"meta\">\(CycleReport.escape(network.name)): obligations dated through \(cycle.through), "
        body += "closed \(cycle.closedAt). \(obligations.count) obligations involve \(partner); amounts in each "
        body += "currency's major unit. Gross: what each counterparty owes \(partner) (due) and what \(partner) owes "
        body += "it (owed); net = due − owed − fee.</p>\n"
        if currencies.isEmpty { body += "<p>\(partner) has nothing to settle in this cycle.</p>\n" }
        for c in currencies {
            let code = c.currency.code
            func money(_ v: Int64) -> String { Money.decimal(v, exponent: c.currency.minorUnitExponent) }
            body += "<section>\n<h2>\(code)</h2>\n"
            let verb = c.net < 0 ? "pays" : "receives"
            body += "<p class=\"summary\">\(partner) \(verb) <strong>\(money(abs(c.net))) \(code)</strong> net.</p>\n"
            body += "<table>\n<tr><th>counterparty</th><th>due to \(partner)</th><th>owed by \(partner)</th></tr>\n"
            for row in c.counterparties {
                body += "<tr><td>\(row.partner)</td><td class=\"n\">\(money(row.due))</td>"
                body += "<td class=\"n\">\(money(row.owed))</td></tr>\n"
            }
            body +=
                "<tr><th>gross</th><td class=\"n\">\(money(c.dueTotal))</td><td class=\"n\">\(money(c.owedTotal))</td></tr>\n"
            body += "</table>\n<table>\n"
            body += "<tr><td>due</td><td class=\"n\">\(money(c.dueTotal))</td></tr>\n"
            body += "<tr><td>owed</td><td class=\"n\">\(money(-c.owedTotal))</td></tr>\n"
            body += "<tr><td>clearing fee</td><td class=\"n\">\(money(-c.fee))</td></tr>\n"
            body += "<tr><th>net</th><td class=\"n \(c.net < 0 ? "pay" : "receive")\">\(money(c.net))</td></tr>\n"
            body += "</table>\n"
            for (title, list) in [
                ("Settlement instructions: through the clearing house", c.throughClearingHouse),
                ("Settlement instructions: fewest payments", c.fewestPayments),
            ] {
                body += "<h3>\(title)</h3>\n"
                if list.isEmpty {
                    body += "<p>None for \(partner).</p>\n"
                    continue
                }
                body += "<table>\n<tr><th>payer</th><th>payee</th><th>amount</th></tr>\n"
                for p in list {
                    body += "<tr><td>\(p.payer)</td><td>\(p.payee)</td><td class=\"n\">\(money(p.amount))</td></tr>\n"
                }
                body += "</table>\n"
            }
            body += "</section>\n"
        }
        body += "<p class=\"meta\">The obligations behind these amounts: "
        body += "\(PartnerCycleReport.fileName(partner: partner, cycle: cycle.number, extension: "csv")).</p>\n"
        return CycleReport.page(title: "Coalition cycle \(cycle.number): \(partner)", body: body)
    }

    /// The header line of `csv`.
    package static let csvHeader =
        "obligation,occurred_at,record_partner,record_id,member,debtor,creditor,direction,currency,amount,amount_minor,points"

    /// The obligations behind the page, one a line (RFC 4180, CRLF-free: lines end in LF):
    /// `direction` is `due` when the partner is the creditor, `owed` when it is the debtor;
    /// `amount` is in the major unit, exact, `amount_minor` in minor units. Per currency and
    /// counterparty they sum to the page's gross amounts.
    package func csv() -> String {
        var out = Self.csvHeader + "\n"
        for o in obligations {
            let fields = [
                String(o.id), o.occurredAt.description, o.source.partner.rawValue, o.source.recordID,
                o.member.description, o.debtor.rawValue, o.creditor.rawValue, o.creditor == partner ? "due" : "owed",
                o.currency.code, Money.decimal(o.amount, exponent: o.currency.minorUnitExponent, grouped: false),
                String(o.amount), String(o.points),
            ]
            out += fields.map(Self.csvField).joined(separator: ",") + "\n"
        }
        return out
    }

    /// A CSV field, quoted when it holds a comma, a quote or a line break.
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
