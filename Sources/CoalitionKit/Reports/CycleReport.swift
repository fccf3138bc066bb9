import Foundation

/// A clearing cycle as a self-contained HTML page: SVG pictures of the flows between
/// partners (gross and net), the net position per partner, the netting efficiency, and the
/// tables behind them. No scripts, no network; well-formed XML, so it parses as XHTML too.
package enum CycleReport {
    package static func fileName(_ number: Int64) -> String {
        let text = String(number)
        return "cycle-" + String(repeating: "0", count: max(0, 6 - text.count)) + text + ".html"
    }

    package static func html(_ cycle: ClearingCycle, network: Network) -> String {
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
    package static func html(positions report: PositionsReport, network: Network) -> String {
        var body = "<h1>Unsettled positions</h1>\n"
        body += "<p class=\"meta\">\(escape(network.name)): \(report.openObligations) open obligations as of "
        body += "\(report.asOf), netted as if a cycle closed now. Amounts in each currency's major unit.</p>\n"
        if report.clearings.isEmpty { body += "<p>No open obligations.</p>\n" }
        for clearing in report.clearings { body += section(clearing, network: network) }
        return page(title: "Coalition unsettled positions", body: body)
    }

    /// Points outstanding per issuer as a page: bars and the table behind them.
    package static func html(liability report: LiabilityReport, network: Network) -> String {
        var body = "<h1>Points liability</h1>\n"
        body += "<p class=\"meta\">\(escape(network.name)), as of \(report.asOf): points members hold, by issuer, "
        body += "valued at the issuer's own redemption value; breakage is what expired unused.</p>\n"
        body += figure("Points outstanding per issuer", liabilityBars(report))
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

        // The parties of the gross matrix: the partners, and the coalition where it issued
        // points (referral bonuses) that were redeemed.
        let partners = Set(c.gross.keys).union(c.gross.values.flatMap(\.keys)).union(
            nodes(c).compactMap { p -> PartnerID? in
                if case .partner(let id) = p { return id }
                return nil
            }
        ).sorted()
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
            if let id = participant == .clearingHouse && c.grossOwed[.coalition] != nil ? PartnerID.coalition : nil {
                owed = money(c.grossOwed[id] ?? 0)
                due = money(c.grossDue[id] ?? 0)
            } else if case .partner(let id) = participant {
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
            set.insert(Participant(party: debtor))
            for creditor in row.keys { set.insert(Participant(party: creditor)) }
        }
        return set.sorted()
    }

    static func grossEdges(_ c: CurrencyClearing) -> [(Participant, Participant, Int64)] {
        c.gross.flatMap { debtor, row in
            row.map { (Participant(party: debtor), Participant(party: $0.key), $0.value) }
        }
        .filter { $0.2 > 0 }
        .sorted { ($0.0, $0.1) < ($1.0, $1.1) }
    }

    static func figure(_ caption: String, _ svg: String) -> String {
        "<figure>\n\(svg)<figcaption>\(escape(caption))</figcaption>\n</figure>\n"
    }

    /// Participants on a circle; an arrow per payment, as thick as its share of the largest.
    /// Names are written whole beside their node, amounts on their arrow where there is room
    /// (see `LabelLayout`); the picture is as large as what it holds.
    static func flows(
        _ edges: [(Participant, Participant, Int64)],
        nodes: [Participant],
        money: (Int64) -> String
    )
        -> String
    {
        let nodeRadius = nodes.count > 6 ? 24.0 : 31.0
        let radius = max(130, Double(nodes.count) * 30)
        var position: [Participant: (Double, Double)] = [:]
        for (i, node) in nodes.enumerated() {
            let angle = -Double.pi / 2 + 2 * Double.pi * Double(i) / Double(max(1, nodes.count))
            position[node] = (radius * cos(angle), radius * sin(angle))
        }
        var layout = LabelLayout()
        placeNames(nodes, at: position, nodeRadius: nodeRadius, radius: radius, in: &layout)
        let largest = Double(edges.map(\.2).max() ?? 1)
        var paths = ""
        for (from, to, amount) in edges {
            guard let a = position[from], let b = position[to] else { continue }
            // Bend each arrow a little, so A→B and B→A do not overlap.
            let mx = (a.0 + b.0) / 2 + (b.1 - a.1) * 0.15
            let my = (a.1 + b.1) / 2 - (b.0 - a.0) * 0.15
            let (ex, ey) = shorten(from: (mx, my), to: b, by: nodeRadius + 2)
            let width = 1.5 + 10 * Double(amount) / largest
            paths += "<path d=\"M \(f(a.0)) \(f(a.1)) Q \(f(mx)) \(f(my)) \(f(ex)) \(f(ey))\" fill=\"none\" "
            paths +=
                "stroke=\"#33658a\" stroke-opacity=\"0.7\" stroke-width=\"\(f(width))\" marker-end=\"url(#arrow)\">"
            paths += "<title>\(from) pays \(to) \(money(amount))</title></path>\n"
            layout.drawn.append(LabelLayout.Box(x: min(a.0, mx, ex), y: min(a.1, my, ey), width: 1, height: 1))
            layout.drawn.append(LabelLayout.Box(x: max(a.0, mx, ex), y: max(a.1, my, ey), width: 1, height: 1))
            // Candidates on the curve, nearest its middle first, then either side of it.
            var candidates: [(Double, Double)] = []
            for t in [0.5, 0.42, 0.58, 0.34, 0.66, 0.26, 0.74] {
                let x = (1 - t) * (1 - t) * a.0 + 2 * (1 - t) * t * mx + t * t * ex
                let y = (1 - t) * (1 - t) * a.1 + 2 * (1 - t) * t * my + t * t * ey
                for offset in [0.0, 11, -11, 20, -20] { candidates.append((x, y + offset + 3)) }
            }
            layout.place(money(amount), size: 9, anchor: .middle, className: "edge", candidates: candidates)
        }
        if edges.isEmpty {
            layout.place("no payments", size: 9, anchor: .middle, className: "node", candidates: [(0, 0)])
        }
        var svg = LabelLayout.svgOpening(layout.bounds(margin: 8))
        svg += "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"12\" "
        svg +=
            "markerHeight=\"12\" markerUnits=\"userSpaceOnUse\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#33658a\"/>"
        svg += "</marker></defs>\n"
        svg += paths
        for node in nodes {
            guard let p = position[node] else { continue }
            let fill = node == .clearingHouse ? "#f6ae2d" : "#86bbd8"
            svg +=
                "<circle cx=\"\(f(p.0))\" cy=\"\(f(p.1))\" r=\"\(f(nodeRadius))\" fill=\"\(fill)\" stroke=\"#2f4858\">"
            svg += "<title>\(node)</title></circle>\n"
        }
        svg += layout.svg
        svg += "</svg>\n"
        return svg
    }

    /// Each node's whole name: inside its node when it fits, else just outside it, away
    /// from the centre; then the nodes become obstacles for the amounts.
    static func placeNames(
        _ nodes: [Participant],
        at position: [Participant: (Double, Double)],
        nodeRadius: Double,
        radius: Double,
        in layout: inout LabelLayout
    ) {
        let nameSize = 9.0
        for node in nodes {
            guard let p = position[node] else { continue }
            let name = node.description
            let outward = (p.0 / max(1, radius), p.1 / max(1, radius))
            let box = LabelLayout.box(name, x: 0, y: 0, size: nameSize, anchor: .middle)
            var candidates: [(Double, Double)] = box.width <= 2 * nodeRadius - 6 ? [(p.0, p.1 + nameSize * 0.35)] : []
            // Outside the node, away from the centre: the label's near side just clear of it.
            let reach = (nodeRadius + 4 + box.width / 2, nodeRadius + 4 + box.height / 2)
            candidates += [
                (p.0 + outward.0 * reach.0, p.1 + outward.1 * reach.1 + nameSize * 0.35),
                (p.0, p.1 + nodeRadius + nameSize + 2), (p.0, p.1 - nodeRadius - 4),
            ]
            layout.place(name, size: nameSize, anchor: .middle, className: "node", candidates: candidates)
        }
        for node in nodes {
            guard let p = position[node] else { continue }
            layout.obstacles.append(
                LabelLayout.Box(x: p.0 - nodeRadius, y: p.1 - nodeRadius, width: 2 * nodeRadius, height: 2 * nodeRadius)
            )
        }
    }

    /// Net position per participant: bars left of the axis pay, right of it receive. The
    /// names' column and the values' room are as wide as the longest of them.
    static func bars(_ c: CurrencyClearing, money: (Int64) -> String) -> String {
        let rows = c.net.sorted { $0.key < $1.key }
        let size = 11.0
        let rowHeight = 28.0
        func width(_ text: String) -> Double { LabelLayout.box(text, x: 0, y: 0, size: size, anchor: .start).width }
        let names = rows.map { width($0.key.description) }.max() ?? 0
        let values = rows.map { width(money($0.value)) }.max() ?? 0
        let half = max(150, values + 100)
        let axis = 4 + names + 10 + half
        let largest = Double(rows.map { abs($0.value) }.max() ?? 1)
        var layout = LabelLayout()
        var shapes = ""
        for (i, (participant, net)) in rows.enumerated() {
            let y = 10 + Double(i) * rowHeight
            let length = (half - values - 8) * Double(abs(net)) / max(1, largest)
            let x = net < 0 ? axis - length : axis
            shapes += "<rect x=\"\(f(x))\" y=\"\(f(y + 4))\" width=\"\(f(max(1, length)))\" height=\"18\" "
            shapes +=
                "fill=\"\(net < 0 ? "#c8553d" : "#55a630")\"><title>\(participant): \(money(net))</title></rect>\n"
            layout.drawn.append(LabelLayout.Box(x: x, y: y + 4, width: max(1, length), height: 18))
            layout.place(
                participant.description,
                size: size,
                anchor: .start,
                className: "label",
                candidates: [(4, y + 17)]
            )
            // The value beside its bar's end, on the bar's side of the axis.
            let end = net < 0 ? axis - length - 4 : axis + length + 4
            layout.place(
                money(net),
                size: size,
                anchor: net < 0 ? .end : .start,
                className: "label",
                candidates: [(end, y + 17)]
            )
        }
        let top = 4.0
        let bottom = 10 + Double(max(1, rows.count)) * rowHeight
        layout.drawn.append(LabelLayout.Box(x: axis, y: top, width: 1, height: bottom - top))
        var svg = LabelLayout.svgOpening(layout.bounds(margin: 4))
        svg += shapes
        svg += "<line x1=\"\(f(axis))\" y1=\"\(f(top))\" x2=\"\(f(axis))\" y2=\"\(f(bottom))\" stroke=\"#2f4858\"/>\n"
        svg += layout.svg
        svg += "</svg>\n"
        return svg
    }

    /// Gross against net, as two bars, with the share netted away.
    static func efficiencyBars(_ c: CurrencyClearing, money: (Int64) -> String) -> String {
        let gross = Double(max(1, c.grossTotal))
        let netLength = max(1, 300 * Double(c.netTotal) / gross)
        var layout = LabelLayout()
        layout.drawn.append(LabelLayout.Box(x: 50, y: 10, width: 300, height: 28))
        layout.drawn.append(LabelLayout.Box(x: 50, y: 48, width: netLength, height: 28))
        layout.place("gross", size: 11, anchor: .start, className: "label", candidates: [(4, 29)])
        layout.place(money(c.grossTotal), size: 11, anchor: .start, className: "inside", candidates: [(56, 29)])
        layout.place("net", size: 11, anchor: .start, className: "label", candidates: [(4, 67)])
        layout.place(
            money(c.netTotal),
            size: 11,
            anchor: .start,
            className: "label",
            candidates: [(56 + netLength, 67)]
        )
        let efficiency =
            c.nettingEfficiencyBasisPoints.map { "\($0 / 100).\(pad2($0 % 100))% netted away" } ?? "nothing to net"
        layout.place(efficiency, size: 11, anchor: .start, className: "label", candidates: [(50, 100)])
        var svg = LabelLayout.svgOpening(layout.bounds(margin: 4))
        svg +=
            "<rect x=\"50\" y=\"10\" width=\"300\" height=\"28\" fill=\"#86bbd8\"><title>gross \(money(c.grossTotal))</title></rect>\n"
        svg +=
            "<rect x=\"50\" y=\"48\" width=\"\(f(netLength))\" height=\"28\" fill=\"#33658a\"><title>net \(money(c.netTotal))</title></rect>\n"
        svg += layout.svg
        svg += "</svg>\n"
        return svg
    }

    /// Points outstanding per issuer, one bar each, the names' column as wide as the longest.
    static func liabilityBars(_ report: LiabilityReport) -> String {
        let size = 11.0
        let largest = Double(max(1, report.lines.map(\.pointsOutstanding).max() ?? 1))
        let names =
            report.lines.map { LabelLayout.box($0.issuer.rawValue, x: 0, y: 0, size: size, anchor: .start).width }.max()
            ?? 0
        let start = 4 + names + 10
        var layout = LabelLayout()
        var shapes = ""
        for (i, line) in report.lines.enumerated() {
            let y = Double(5 + i * 30)
            let length = max(1, 360 * Double(max(0, line.pointsOutstanding)) / largest)
            shapes += "<rect x=\"\(f(start))\" y=\"\(f(y + 4))\" width=\"\(f(length))\" height=\"20\" fill=\"#33658a\">"
            shapes += "<title>\(line.issuer): \(Points.grouped(line.pointsOutstanding)) points</title></rect>\n"
            layout.drawn.append(LabelLayout.Box(x: start, y: y + 4, width: length, height: 20))
            layout.place(
                line.issuer.rawValue,
                size: size,
                anchor: .start,
                className: "label",
                candidates: [(4, y + 18)]
            )
            layout.place(
                Points.grouped(line.pointsOutstanding),
                size: size,
                anchor: .start,
                className: "label",
                candidates: [(start + length + 6, y + 18)]
            )
        }
        var svg = LabelLayout.svgOpening(layout.bounds(margin: 4))
        svg += shapes + layout.svg + "</svg>\n"
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
        figure { margin: 0; display: inline-block; vertical-align: top; }
        figcaption { text-align: center; font-size: 0.9em; color: #55707f; }
        table { border-collapse: collapse; margin: 0.5em 0 1.5em 0; }
        th, td { border: 1px solid #c9d6df; padding: 0.25em 0.6em; }
        th { background: #eef3f7; text-align: left; }
        td.n { text-align: right; font-variant-numeric: tabular-nums; }
        td.pay { color: #a63d28; }
        td.receive { color: #3a7d20; }
        svg text { fill: #2f4858; }
        svg text.node { font-weight: bold; }
        svg text.edge { fill: #1b3a4b; paint-order: stroke; stroke: #ffffff; stroke-width: 3px; }
        svg text.inside { fill: #ffffff; }
        svg line.leader { stroke: #9fb3c0; stroke-width: 0.75; }
        </style>
        </head>
        <body>
        \(body)</body>
        </html>

        """
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

    /// Text for HTML, in content and in attributes quoted either way: `&`, `<`, `>`, `"`
    /// and `'` escaped.
    package static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
