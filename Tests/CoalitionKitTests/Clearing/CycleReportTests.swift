import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Parses `text` as XML; returns the parser's error, nil when it is well-formed.
func xmlError(_ text: String) -> String? {
    let parser = XMLParser(data: Data(text.utf8))
    parser.shouldResolveExternalEntities = false
    if parser.parse() { return nil }
    return parser.parserError.map { "\($0) at line \(parser.lineNumber)" }
        ?? "parse failed at line \(parser.lineNumber)"
}

/// How often `needle` occurs in `text`.
func occurrences(of needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

@Suite("CycleReport: the cycle, positions and liability pages are well-formed and say the cycle's numbers")
struct CycleReportTests {
    static let chromium = "/usr/bin/chromium"

    /// Generated activity with two closed cycles and open obligations after them.
    static func ledger() throws -> (ActivityLedger, [ClearingCycle]) {
        var a = try ActivityLedger(seed: 31)
        try a.apply(through: Fixtures.time("2026-10-01T00:00:00Z"))
        let first = try a.close(through: "2026-09-30T23:59:59Z", now: "2026-10-01T06:00:00Z")
        try a.apply(through: Fixtures.time("2026-10-20T00:00:00Z"))
        let second = try a.close(through: "2026-10-20T00:00:00Z", now: "2026-10-21T06:00:00Z")
        try a.apply(through: Fixtures.time("2027-01-01T00:00:00Z"))
        return (a, [first, second])
    }

    @Test("a cycle's page parses as XML, draws one SVG per figure and shows the cycle's numbers")
    func cyclePage() throws {
        let (a, cycles) = try Self.ledger()
        for cycle in cycles {
            let html = CycleReport.html(cycle, network: a.ledger.network)
            #expect(xmlError(html) == nil, "cycle \(cycle.number): \(xmlError(html) ?? "")")
            #expect(html.hasPrefix("<!DOCTYPE html>"))
            #expect(html.contains("<h1>Clearing cycle \(cycle.number)</h1>"))
            #expect(html.contains("\(cycle.obligationCount) obligations dated through \(cycle.through)"))
            #expect(cycle.clearings.count == 2)
            // Four figures per currency, each one SVG picture.
            #expect(occurrences(of: "<figure>", in: html) == 4 * cycle.clearings.count)
            #expect(occurrences(of: "<svg", in: html) == occurrences(of: "<figure>", in: html))
            #expect(occurrences(of: "</svg>", in: html) == occurrences(of: "<svg", in: html))
            #expect(!html.contains("<script"))
            for clearing in cycle.clearings {
                let code = clearing.currency.code
                func money(_ v: Int64) -> String { Money.decimal(v, exponent: clearing.currency.minorUnitExponent) }
                #expect(html.contains("<h2>\(code)</h2>"))
                #expect(
                    html.contains(
                        "Gross \(money(clearing.grossTotal)) \(code) netted to \(money(clearing.netTotal)) \(code)"
                    )
                )
                for (participant, net) in clearing.net {
                    // The net positions table's row ends in the participant's net.
                    #expect(
                        html.contains("<tr><td>\(participant)</td>") && html.contains(">\(money(net))</td></tr>"),
                        "cycle \(cycle.number) \(code) \(participant) \(money(net))"
                    )
                    #expect(html.contains("<title>\(participant): \(money(net))</title>"))
                }
                for payment in clearing.fewestPayments {
                    #expect(
                        html.contains("<title>\(payment.payer) pays \(payment.payee) \(money(payment.amount))</title>")
                    )
                }
            }
            if !cycle.batches.isEmpty {
                #expect(html.contains("\(cycle.batches[0].partner) #\(cycle.batches[0].sequence)"))
            }
        }
    }

    @Test("an empty cycle's page parses and says there is nothing to settle")
    func emptyCyclePage() throws {
        let t = try TestLedger()
        let result = try CycleCloser.close(
            t.ledger,
            through: Fixtures.time("2026-01-31T23:59:59Z"),
            now: Fixtures.time("2026-02-01T00:00:00Z")
        )
        let html = CycleReport.html(try #require(result.closedCycle), network: t.ledger.network)
        #expect(xmlError(html) == nil)
        #expect(html.contains("No obligations in this cycle: nothing to settle."))
        #expect(occurrences(of: "<svg", in: html) == 0)
    }

    @Test("the positions page parses and shows what a cycle closing now would settle")
    func positionsPage() throws {
        let (a, _) = try Self.ledger()
        let report = try PositionsReport(ledger: a.ledger, asOf: Fixtures.time("2027-01-01T00:00:00Z"))
        #expect(report.openObligations == (try a.store.obligations(openOnly: true).count))
        #expect(report.openObligations > 0)
        let html = CycleReport.html(positions: report, network: a.ledger.network)
        #expect(xmlError(html) == nil, "\(xmlError(html) ?? "")")
        #expect(occurrences(of: "<svg", in: html) == 4 * report.clearings.count)
        #expect(occurrences(of: "<svg", in: html) == occurrences(of: "<figure>", in: html))
        #expect(html.contains("\(report.openObligations) open obligations as of 2027-01-01T00:00:00Z"))
        for clearing in report.clearings {
            func money(_ v: Int64) -> String { Money.decimal(v, exponent: clearing.currency.minorUnitExponent) }
            #expect(html.contains("Gross \(money(clearing.grossTotal)) \(clearing.currency.code)"))
            for (participant, net) in clearing.net {
                #expect(html.contains("<title>\(participant): \(money(net))</title>"))
            }
        }
    }

    @Test("the liability page parses and shows each issuer's points outstanding")
    func liabilityPage() throws {
        let (a, _) = try Self.ledger()
        let report = try LiabilityReport(ledger: a.ledger, asOf: Fixtures.time("2027-01-01T00:00:00Z"))
        #expect(report.lines.map(\.issuer) == Fixtures.network.sortedPartners.map(\.id))
        let html = CycleReport.html(liability: report, network: a.ledger.network)
        #expect(xmlError(html) == nil, "\(xmlError(html) ?? "")")
        #expect(occurrences(of: "<svg", in: html) == 1)
        #expect(occurrences(of: "<figure>", in: html) == 1)
        for line in report.lines {
            #expect(line.pointsOutstanding == a.ledger.outstanding(line.issuer))
            #expect(html.contains("<title>\(line.issuer): \(Points.grouped(line.pointsOutstanding)) points</title>"))
        }
    }

    @Test("a page with markup in the network's name is still well-formed")
    func escaping() throws {
        #expect(CycleReport.escape("A & B <\"x\">") == "A &amp; B &lt;&quot;x&quot;&gt;")
        #expect(CycleReport.escape("Macy's") == "Macy&#39;s")
        #expect(xmlError("<p>\(CycleReport.escape("Fish & <Chips> \"Co\""))</p>") == nil)
        #expect(xmlError("<p>Fish & Chips</p>") != nil, "the parser accepts what is not XML: this test proves nothing")
    }

    @Test(
        "a cycle's page renders in headless Chromium",
        .enabled(if: FileManager.default.isExecutableFile(atPath: chromium), "no Chromium at /usr/bin/chromium")
    )
    func renders() throws {
        let (a, cycles) = try Self.ledger()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let page = directory.file(CycleReport.fileName(cycles[0].number))
        try CycleReport.html(cycles[0], network: a.ledger.network).write(
            toFile: page,
            atomically: true,
            encoding: .utf8
        )
        let png = directory.file("cycle.png")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.chromium)
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--disable-extensions", "--user-data-dir=\(directory.file("profile"))", "--window-size=1200,1600",
            "--screenshot=\(png)", URL(fileURLWithPath: page).absoluteString,
        ]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // A browser that hangs must not hang the suite: stop it, and the file will be missing.
        let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 120, execute: watchdog)
        process.waitUntilExit()
        watchdog.cancel()
        let bytes = try #require(FileManager.default.contents(atPath: png), "Chromium wrote no screenshot")
        #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]))
    }
}
