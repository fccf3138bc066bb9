import Foundation

/// A clearing cycle as a self-contained HTML page: SVG pictures of the flows between
/// partners (gross and net), the net position per partner, the netting efficiency, and the
/// tables behind them. No scripts, no network; well-formed XML, so it parses as XHTML too.
public enum CycleReport {
    public static func fileName(_ number: Int64) -> String {
        let text = String(number)
        return "cycle-" + String(repeating: "0", count: max(0, 6 - text.count)) + text + ".html"
    }

    public static func html(_ cycle: ClearingCycle, network: Network) -> String {
        var body = ""
        body += "<h1>Clearing cycle \(cycle.number)</h1>\n"
        body += "<p class=\"meta\">\(escape(network.name)): \(cycle.obligationCount) obligations dated through "
        body += "\(cycle.through), closed \(cycle.closedAt). Amounts in each currency's major unit.</p>\n"
        if cycle.clearings.isEmpty {
            body += "<p>No obligations in this cycle: nothing to settle.</p>\n"
        }
        for clearing in cycle.clearings {
            body += section(clearing, network: network)
        }
        if !cycle.batches.isEmpty {
            body += "<h2>Batches included</h2>\n<p class=\"batches\">"
            body += cycle.batches.map { "\($0.partner) #\($0.sequence)" }.joined(separator: ", ")
            body += "</p>\n"
        }
        return page(title: "Coalition clearing cycle \(cycle.number)", body: body)
    }

    /// Open positions as a page: what a cycle closing now would settle.
    public static func html(positions report: PositionsReport, network: Network) -> String {
        var body = "<h1>Unsettled positions</h1>\n"
        body += "<p class=\"meta\">\(escape(network.name)): \(report.openObligations) open obligations as of "
        body += "\(report.asOf), netted as if a cycle closed now. Amounts in each currency's major unit.</p>\n"
        if report.clearings.isEmpty { body += "<p>No open obligations.</p>\n" }
        for clearing in report.clearings { body += section(clearing, network: network) }
        return page(title: "Coalition unsettled positions", body: body)
    }

    /// Points outstanding per issuer as a page: bars and the table behind them.
    public static func html(liability report: LiabilityReport, network: Network) -> String {
        var body = "<h1>Points liability</h1>\n"
        body += "<p class=\"meta\">\(escape(network.name)), as of \(report.asOf): points members hold, by issuer, "
        body += "valued at the issuer's own redemption value; breakage is what expired unused.</p>\n"
        let largest = Double(max(1, report.lines.map(\.pointsOutstanding).max() ?? 1))
        let height = report.lines.count * 30 + 10
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"560\" height=\"\(height)\" "
        svg += "viewBox=\"0 0 560 \(height)\" role=\"img\">\n"
        for (i, line) in report.lines.enumerated() {
            let y = Double(5 + i * 30)
            let length = 360 * Double(max(0, line.pointsOutstanding)) / largest
            svg += "<text x=\"4\" y=\"\(f(y + 18))\" class=\"label\">\(escape(line.issuer.rawValue))</text>\n"
            svg += "<rect x=\"110\" y=\"\(f(y + 4))\" width=\"\(f(max(1, length)))\" height=\"20\" fill=\"#33658a\">"
            svg += "<title>\(line.issuer): \(Points.grouped(line.pointsOutstanding)) points</title></rect>\n"
            svg += "<text x=\"\(f(116 + length))\" y=\"\(f(y + 18))\" class=\"label\">"
            svg += "\(Points.grouped(line.pointsOutstanding))</text>\n"
        }
        svg += "</svg>\n"
        body += figure("Points outstanding per issuer", svg)
        body += "<table>\n<tr><th>issuer</th><th>points outstanding</th><th>value</th><th>breakage</th>"
        body += "<th>members holding</th></tr>\n"
        for line in report.lines {
            body += "<tr><td>\(line.issuer)</td><td class=\"n\">\(Points.grouped(line.pointsOutstanding))</td>"
            body += "<td class=\"n\">\(line.value.map { escape($0.description) } ?? "-")</td>"
            body += "<td class=\"n\">\(Points.grouped(line.breakage))</td><td class=\"n\">\(line.members)</td></tr>\n"
        }
        body += "</table>\n"
        return page(title: "Coalition points liability", body: body)
    }

    static func section(_ c: CurrencyClearing, network: Network) -> String {
        let code = c.currency.code
        let e = c.currency.minorUnitExponent
        func money(_ v: Int64) -> String { Money.decimal(v, exponent: e) }
        var out = "<section>\n<h2>\(code)</h2>\n"
        let efficiency = c.nettingEfficiencyBasisPoints.map { "\($0 / 100).\(pad2($0 % 100))%" } ?? "-"
        out += "<p class=\"summary\">Gross \(money(c.grossTotal)) \(code) netted to \(money(c.netTotal)) \(code): "
        out += "netting efficiency <strong>\(efficiency)</strong>.</p>\n"
        out += "<div class=\"figures\">\n"
        out += figure("Gross obligations (issuer pays redeemer)", flows(grossEdges(c), nodes: nodes(c), money: money))
        out += figure(
            "Net settlement (fewest payments)",
            flows(c.fewestPayments.map { ($0.payer, $0.payee, $0.amount) }, nodes: nodes(c), money: money)
        )
        out += figure("Net position per participant", bars(c, money: money))
        out += figure("Netting efficiency", efficiencyBars(c, money: money))
        out += "</div>\n"

        let partners = nodes(c).compactMap { p -> PartnerID? in
            if case .partner(let id) = p { return id }
            return nil
        }
        out += "<h3>Gross bilateral matrix (row owes column)</h3>\n<table>\n<tr><th>owes \u{2192}</th>"
        for p in partners { out += "<th>\(p)</th>" }
        out += "<th>total owed</th></tr>\n"
        for debtor in partners {
            out += "<tr><th>\(debtor)</th>"
            for creditor in partners {
                let v = c.gross[debtor]?[creditor]
                out += "<td class=\"n\">\(v.map(money) ?? "")</td>"
            }
            out += "<td class=\"n\">\(money(c.grossOwed[debtor] ?? 0))</td></tr>\n"
        }
        out += "</table>\n"

        out += "<h3>Net positions</h3>\n<table>\n"
        out += "<tr><th>participant</th><th>owes (gross)</th><th>is due (gross)</th><th>fee</th><th>net</th></tr>\n"
        for (participant, net) in c.net.sorted(by: { $0.key < $1.key }) {
            var owed = ""
            var due = ""
            var fee = ""
            if case .partner(let id) = participant {
                owed = money(c.grossOwed[id] ?? 0)
                due = money(c.grossDue[id] ?? 0)
                fee = money(c.fees[id] ?? 0)
            }
            out += "<tr><td>\(participant)</td><td class=\"n\">\(owed)</td><td class=\"n\">\(due)</td>"
            out += "<td class=\"n\">\(fee)</td><td class=\"n \(net < 0 ? "pay" : "receive")\">\(money(net))</td></tr>\n"
        }
        out +=
            "<tr><th>sum</th><td></td><td></td><td></td><td class=\"n\">\(money(c.net.values.reduce(0, +)))</td></tr>\n"
        out += "</table>\n"

        for (title, list) in [
            ("Settlement instructions: through the clearing house", c.centralCounterparty),
            ("Settlement instructions: fewest payments", c.fewestPayments),
        ] {
            out += "<h3>\(title)</h3>\n<table>\n<tr><th>payer</th><th>payee</th><th>amount</th></tr>\n"
            for p in list {
                out += "<tr><td>\(p.payer)</td><td>\(p.payee)</td><td class=\"n\">\(money(p.amount))</td></tr>\n"
            }
            out += "</table>\n"
        }
        out += "</section>\n"
        return out
    }

    static func nodes(_ c: CurrencyClearing) -> [Participant] {
        var set = Set(c.net.keys)
        for (debtor, row) in c.gross {
            set.insert(.partner(debtor))
            for creditor in row.keys { set.insert(.partner(creditor)) }
        }
        return set.sorted()
    }

    static func grossEdges(_ c: CurrencyClearing) -> [(Participant, Participant, Int64)] {
        c.gross.flatMap { debtor, row in
            row.map { (Participant.partner(debtor), Participant.partner($0.key), $0.value) }
        }
        .filter { $0.2 > 0 }
        .sorted { ($0.0, $0.1) < ($1.0, $1.1) }
    }

    static func figure(_ caption: String, _ svg: String) -> String {
        "<figure>\n\(svg)<figcaption>\(escape(caption))</figcaption>\n</figure>\n"
    }

    /// Participants on a circle; an arrow per payment, as thick as its share of the largest.
    static func flows(
        _ edges: [(Participant, Participant, Int64)],
        nodes: [Participant],
        money: (Int64) -> String
    )
        -> String
    {
        let size = 360
        let center = Double(size) / 2
        let radius = 130.0
        var position: [Participant: (Double, Double)] = [:]
        for (i, node) in nodes.enumerated() {
            let angle = -Double.pi / 2 + 2 * Double.pi * Double(i) / Double(max(1, nodes.count))
            position[node] = (center + radius * cos(angle), center + radius * sin(angle))
        }
        let largest = Double(edges.map(\.2).max() ?? 1)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(size)\" height=\"\(size)\" "
        svg += "viewBox=\"0 0 \(size) \(size)\" role=\"img\">\n"
        svg += "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"12\" "
        svg +=
            "markerHeight=\"12\" markerUnits=\"userSpaceOnUse\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#33658a\"/>"
        svg += "</marker></defs>\n"
        for (from, to, amount) in edges {
            guard let a = position[from], let b = position[to] else { continue }
            // Bend each arrow a little, so A→B and B→A do not overlap.
            let mx = (a.0 + b.0) / 2 + (b.1 - a.1) * 0.15
            let my = (a.1 + b.1) / 2 - (b.0 - a.0) * 0.15
            let (ex, ey) = shorten(from: (mx, my), to: b, by: 33)
            let width = 1.5 + 10 * Double(amount) / largest
            svg += "<path d=\"M \(f(a.0)) \(f(a.1)) Q \(f(mx)) \(f(my)) \(f(ex)) \(f(ey))\" fill=\"none\" "
            svg += "stroke=\"#33658a\" stroke-opacity=\"0.7\" stroke-width=\"\(f(width))\" marker-end=\"url(#arrow)\">"
            svg += "<title>\(from) pays \(to) \(money(amount))</title></path>\n"
            svg += "<text x=\"\(f(mx))\" y=\"\(f(my))\" class=\"edge\">\(money(amount))</text>\n"
        }
        for node in nodes {
            guard let p = position[node] else { continue }
            let fill = node == .clearingHouse ? "#f6ae2d" : "#86bbd8"
            svg += "<circle cx=\"\(f(p.0))\" cy=\"\(f(p.1))\" r=\"31\" fill=\"\(fill)\" stroke=\"#2f4858\"/>\n"
            svg += "<text x=\"\(f(p.0))\" y=\"\(f(p.1 + 4))\" class=\"node\">\(escape(short(node)))</text>\n"
        }
        if edges.isEmpty { svg += "<text x=\"\(size / 2)\" y=\"\(size / 2)\" class=\"node\">no payments</text>\n" }
        svg += "</svg>\n"
        return svg
    }

    /// Net position per participant: bars left of the axis pay, right of it receive.
    static func bars(_ c: CurrencyClearing, money: (Int64) -> String) -> String {
        let rows = c.net.sorted { $0.key < $1.key }
        let width = 360
        let rowHeight = 28
        let height = max(1, rows.count) * rowHeight + 20
        let axis = Double(width) / 2 + 30
        let half = Double(width) / 2 - 50
        let largest = Double(rows.map { abs($0.value) }.max() ?? 1)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" "
        svg += "viewBox=\"0 0 \(width) \(height)\" role=\"img\">\n"
        for (i, (participant, net)) in rows.enumerated() {
            let y = Double(10 + i * rowHeight)
            let length = half * Double(abs(net)) / max(1, largest)
            let x = net < 0 ? axis - length : axis
            svg += "<text x=\"4\" y=\"\(f(y + 17))\" class=\"label\">\(escape(short(participant)))</text>\n"
            svg += "<rect x=\"\(f(x))\" y=\"\(f(y + 4))\" width=\"\(f(max(1, length)))\" height=\"18\" "
            svg += "fill=\"\(net < 0 ? "#c8553d" : "#55a630")\"><title>\(participant): \(money(net))</title></rect>\n"
            let labelX = net < 0 ? axis + 4 : axis - 4
            svg += "<text x=\"\(f(labelX))\" y=\"\(f(y + 17))\" class=\"\(net < 0 ? "value-right" : "value-left")\">"
            svg += "\(money(net))</text>\n"
        }
        svg += "<line x1=\"\(f(axis))\" y1=\"4\" x2=\"\(f(axis))\" y2=\"\(height - 4)\" stroke=\"#2f4858\"/>\n"
        svg += "</svg>\n"
        return svg
    }

    /// Gross against net, as two bars, with the share netted away.
    static func efficiencyBars(_ c: CurrencyClearing, money: (Int64) -> String) -> String {
        let width = 360
        let gross = Double(max(1, c.grossTotal))
        let netLength = 300 * Double(c.netTotal) / gross
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"110\" "
        svg += "viewBox=\"0 0 \(width) 110\" role=\"img\">\n"
        svg +=
            "<rect x=\"50\" y=\"10\" width=\"300\" height=\"28\" fill=\"#86bbd8\"><title>gross \(money(c.grossTotal))</title></rect>\n"
        svg += "<text x=\"4\" y=\"29\" class=\"label\">gross</text>\n"
        svg += "<text x=\"56\" y=\"29\" class=\"inside\">\(money(c.grossTotal))</text>\n"
        svg +=
            "<rect x=\"50\" y=\"48\" width=\"\(f(max(1, netLength)))\" height=\"28\" fill=\"#33658a\"><title>net \(money(c.netTotal))</title></rect>\n"
        svg += "<text x=\"4\" y=\"67\" class=\"label\">net</text>\n"
        svg += "<text x=\"\(f(56 + max(1, netLength)))\" y=\"67\" class=\"label\">\(money(c.netTotal))</text>\n"
        let efficiency =
            c.nettingEfficiencyBasisPoints.map { "\($0 / 100).\(pad2($0 % 100))% netted away" } ?? "nothing to net"
        svg += "<text x=\"50\" y=\"100\" class=\"label\">\(efficiency)</text>\n"
        svg += "</svg>\n"
        return svg
    }

    static func page(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html xmlns="http://www.w3.org/1999/xhtml" lang="en">
        <head>
        <meta charset="utf-8"/>
        <title>\(escape(title))</title>
        <style>
        body { font-family: system-ui, sans-serif; margin: 2em; color: #2f4858; max-width: 1200px; }
        h1 { margin-bottom: 0.2em; }
        .meta { color: #55707f; }
        section { border-top: 2px solid #86bbd8; margin-top: 2em; }
        .figures { display: flex; flex-wrap: wrap; gap: 1.5em; }
        figure { margin: 0; }
        figcaption { text-align: center; font-size: 0.9em; color: #55707f; }
        table { border-collapse: collapse; margin: 0.5em 0 1.5em 0; }
        th, td { border: 1px solid #c9d6df; padding: 0.25em 0.6em; }
        th { background: #eef3f7; text-align: left; }
        td.n { text-align: right; font-variant-numeric: tabular-nums; }
        td.pay { color: #c8553d; }
        td.receive { color: #3a7d20; }
        svg text { font-size: 11px; fill: #2f4858; }
        svg text.node { text-anchor: middle; font-weight: bold; font-size: 9px; }
        svg text.edge { text-anchor: middle; font-size: 10px; fill: #1b3a4b; }
        svg text.value-left { text-anchor: end; }
        svg text.value-right { text-anchor: start; }
        svg text.inside { fill: #ffffff; }
        </style>
        </head>
        <body>
        \(body)</body>
        </html>

        """
    }

    static func short(_ participant: Participant) -> String {
        let name = participant.description
        return name.count > 8 ? String(name.prefix(7)) + "\u{2026}" : name
    }

    static func shorten(from a: (Double, Double), to b: (Double, Double), by distance: Double) -> (Double, Double) {
        let dx = b.0 - a.0
        let dy = b.1 - a.1
        let length = max(0.001, (dx * dx + dy * dy).squareRoot())
        return (b.0 - dx / length * distance, b.1 - dy / length * distance)
    }

    /// Coordinates with one decimal: drawing only, never an amount.
    static func f(_ value: Double) -> String { String(format: "%.1f", value) }

    static func pad2(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }

    /// Text for HTML: `&`, `<`, `>`, `"` escaped.
    public static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }
}
