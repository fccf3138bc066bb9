import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Every `<svg>` of a page with its view box and the boxes of its text labels, estimated as
/// the layout documents: each character 0.75 em wide, the line 1.25 em tall from 1 em above
/// the baseline, placed by its `text-anchor`.
final class FigureLabels: NSObject, XMLParserDelegate {
    struct Label {
        let text: String
        let x: Double
        let y: Double
        let width: Double
        let height: Double

        func intersects(_ other: Label) -> Bool {
            x < other.x + other.width && other.x < x + width && y < other.y + other.height && other.y < y + height
        }
    }

    struct Figure {
        var viewBox: [Double] = []
        var labels: [Label] = []
    }

    private(set) var figures: [Figure] = []
    private(set) var problems: [String] = []
    private var open: [String: String]?
    private var text = ""

    static func parse(_ html: String) -> FigureLabels {
        let figures = FigureLabels()
        let parser = XMLParser(data: Data(html.utf8))
        parser.delegate = figures
        if !parser.parse() { figures.problems.append("the page does not parse") }
        return figures
    }

    func parser(
        _ parser: XMLParser,
        didStartElement name: String,
        namespaceURI: String?,
        qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        if name == "svg" {
            figures.append(
                Figure(viewBox: (attributes["viewBox"] ?? "").split(separator: " ").compactMap { Double($0) })
            )
        } else if name == "text" {
            open = attributes
            text = ""
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if open != nil { text += string }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        guard name == "text", let attributes = open else { return }
        open = nil
        guard let x = attributes["x"].flatMap(Double.init), let y = attributes["y"].flatMap(Double.init),
            let size = attributes["font-size"].flatMap(Double.init), let anchor = attributes["text-anchor"],
            !figures.isEmpty
        else {
            problems.append("label '\(text)' has no x, y, font-size or text-anchor")
            return
        }
        let width = Double(text.count) * size * 0.75
        let left = anchor == "middle" ? x - width / 2 : anchor == "end" ? x - width : x
        figures[figures.count - 1].labels.append(
            Label(text: text, x: left, y: y - size, width: width, height: size * 1.25)
        )
    }

    /// Pairs of labels that overlap, and labels that reach outside their figure's view box.
    func faults() -> [String] {
        var out = problems
        for figure in figures {
            guard figure.viewBox.count == 4 else {
                out.append("an svg without a view box")
                continue
            }
            let (minX, minY) = (figure.viewBox[0], figure.viewBox[1])
            let (maxX, maxY) = (minX + figure.viewBox[2], minY + figure.viewBox[3])
            for (i, a) in figure.labels.enumerated() {
                if a.x < minX || a.y < minY || a.x + a.width > maxX || a.y + a.height > maxY {
                    out.append("'\(a.text)' at (\(a.x), \(a.y)) leaves the view box \(figure.viewBox)")
                }
                for b in figure.labels[(i + 1)...] where a.intersects(b) {
                    out.append("'\(a.text)' overlaps '\(b.text)'")
                }
            }
        }
        return out
    }
}

@Suite("CycleReport: labels never overlap and never leave their picture")
struct ReportLabelTests {
    static let names = [
        "MARKETPLACE", "ROADRUNNER", "HARBOR", "SKYWAYS", "COALITION-RAIL", "GRAND-HOTELS-EU", "AB", "CITYCARS",
        "NORTHERN-AIRWAYS", "DINE", "BOOKSHOP-ONLINE", "FUEL-2",
    ]

    /// A cycle of `count` partners with long and short ids, obligations between most pairs
    /// in both directions, amounts from cents to tens of millions, in two currencies.
    static func cycle(partners count: Int, seed: UInt64) throws -> ClearingCycle {
        var random = SeededGenerator(seed: seed)
        let partners = try names.prefix(count).map { try PartnerID($0) }
        let currencies = [try Currency(code: "EUR"), try Currency(code: "JPY")]
        let member = try MemberNumber.withCheckDigit(800_000_000)
        var obligations: [Obligation] = []
        for debtor in partners {
            for creditor in partners where creditor != debtor && Int.random(in: 0..<10, using: &random) < 8 {
                let id = Int64(obligations.count + 1)
                let digits = Int.random(in: 1...10, using: &random)
                var scale: Int64 = 1
                for _ in 0..<digits { scale *= 10 }
                let amount = Int64.random(in: 1...scale, using: &random)
                obligations.append(
                    Obligation(
                        id: id,
                        postingSeq: id,
                        batch: 1,
                        debtor: debtor,
                        creditor: creditor,
                        currency: currencies[Int.random(in: 0...1, using: &random)],
                        amount: amount,
                        points: amount,
                        occurredAt: Timestamp(seconds: 1_790_000_000 + id),
                        source: try RecordKey(partner: creditor, recordID: "L\(id)"),
                        member: member,
                        cycle: nil
                    )
                )
            }
        }
        return ClearingCycle(
            number: 1,
            through: Timestamp(seconds: 1_790_100_000),
            closedAt: Timestamp(seconds: 1_790_100_000),
            watermark: Int64(obligations.count),
            obligationCount: obligations.count,
            postingSeq: 1,
            clearings: try Netting.clear(obligations, feeBasisPoints: 25),
            batches: []
        )
    }

    @Test("a cycle's page at 4 and at 12 partners", arguments: [(4, 1), (4, 2), (4, 3), (12, 1), (12, 2), (12, 3)])
    func cyclePage(partners: Int, seed: UInt64) throws {
        let cycle = try Self.cycle(partners: partners, seed: seed)
        let html = CycleReport.html(cycle, network: Fixtures.network)
        // The pages as artefacts, to look at (or screenshot) when COALITION_TEST_ARTEFACTS names a folder.
        if let folder = ProcessInfo.processInfo.environment["COALITION_TEST_ARTEFACTS"] {
            try html.write(
                toFile: "\(folder)/labels-\(partners)-partners-\(seed).html",
                atomically: true,
                encoding: .utf8
            )
        }
        let figures = FigureLabels.parse(html)
        #expect(figures.figures.count == 4 * cycle.clearings.count)
        #expect(figures.faults() == [], "\(partners) partners, seed \(seed)")
        // Names are whole: every participant's full id labels both flow pictures and the
        // bars of a currency it clears in.
        for name in Self.names.prefix(partners) {
            let labelled = figures.figures.filter { $0.labels.contains { $0.text == name } }.count
            #expect(labelled >= 3, "\(name)")
        }
        #expect(!html.contains("\u{2026}"), "nothing is cut short")
    }

    @Test("the faults are found: overlapping and outlying labels are reported")
    func faultsAreFound() {
        let page = """
            <div><svg viewBox="0 0 100 40"><text x="10" y="20" font-size="10" text-anchor="start">12345</text>\
            <text x="30" y="22" font-size="10" text-anchor="start">678</text>\
            <text x="95" y="30" font-size="10" text-anchor="start">far</text></svg></div>
            """
        let faults = FigureLabels.parse(page).faults()
        #expect(faults.contains("'12345' overlaps '678'"))
        #expect(faults.contains { $0.hasPrefix("'far'") && $0.contains("leaves the view box") })
    }

    @Test("the liability and positions pages of a ledger with activity")
    func ledgerPages() throws {
        let (a, _) = try CycleReportTests.ledger()
        let asOf = Fixtures.time("2027-01-01T00:00:00Z")
        let liability = CycleReport.html(
            liability: try LiabilityReport(ledger: a.ledger, asOf: asOf),
            network: a.ledger.network
        )
        #expect(FigureLabels.parse(liability).faults() == [])
        // A figure is as wide as its picture, so its caption is centred under it, not under the page.
        #expect(liability.contains("figure { margin: 0; display: inline-block;"))
        let positions = CycleReport.html(
            positions: try PositionsReport(ledger: a.ledger, asOf: asOf),
            network: a.ledger.network
        )
        #expect(FigureLabels.parse(positions).faults() == [])
    }
}
