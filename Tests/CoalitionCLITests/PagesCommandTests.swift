import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

/// What an operator prints for partners: positions that add up on paper, and a partner's
/// own page of a cycle with the obligations behind it.
@Suite("coalition report positions and cycle partner: end to end")
struct PagesCommandTests {
    let partners = CommandRunner.partnersDirectory
    let seeds = CommandRunner.seedsDirectory

    /// Minor units from a printed amount (`-1,234.56` → -123456).
    func minor(_ text: Substring) -> Int64? {
        Int64(text.replacingOccurrences(of: ",", with: "").replacingOccurrences(of: ".", with: ""))
    }

    @Test("report positions: a fee column, every row is due − owes − fee, a total row whose net is zero")
    func positionsAddUp() throws {
        let work = try WorkDirectory()
        defer { work.remove() }
        let data = work.file("data")
        #expect(try work.coalition("init", "--partners", partners, data: data).status == 0)
        // The demo's files, signed by their partners into the inbox, ingested: no cycle closed.
        for name in try FileManager.default.contentsOfDirectory(atPath: seeds) where name.hasSuffix(".csf") {
            let target = work.file("data", "inbox", name)
            try FileManager.default.copyItem(atPath: seeds + "/" + name, toPath: target)
            let header = String(
                decoding: try #require(FileManager.default.contents(atPath: target)).prefix(200),
                as: UTF8.self
            )
            let keyID = try #require(header.split(separator: "\n")[0].split(separator: "|").last)
            let sign = try work.coalition("sign", target, "--key", partners + "/keys/\(keyID).key")
            #expect(sign.status == 0, "\(sign)")
        }
        let ingest = try work.coalition("ingest", data: data)
        #expect(ingest.status == 0, "\(ingest)")
        let result = try work.coalition("report", "positions", data: data)
        #expect(result.status == 0, "\(result)")
        let header = result.stdout.split(separator: "\n").first { $0.contains("participant") }
        let columns = header?.split(separator: "  ").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty
        }
        #expect(columns == ["participant", "owes (gross)", "is due (gross)", "fee", "net"], "\(result)")
        var rows = 0
        var totals = 0
        var netSum: Int64 = 0
        for line in result.stdout.split(separator: "\n") where line.hasPrefix("  ") && !line.contains("--") {
            let cells = line.split(separator: " ")
            guard cells.count >= 2, let net = minor(cells.last!) else { continue }
            if cells[0] == "total" {
                #expect(cells.count == 5, "\(line)")
                #expect(net == 0, "\(line)")
                #expect(netSum == 0, "the rows' nets sum to zero")
                netSum = 0
                totals += 1
            } else if cells[0] == "COALITION" {
                netSum += net
            } else if cells.count == 5, let owed = minor(cells[1]), let due = minor(cells[2]), let fee = minor(cells[3])
            {
                #expect(due - owed - fee == net, "\(line)")
                netSum += net
                rows += 1
            }
        }
        #expect(rows >= 4, "\(result)")
        #expect(totals >= 1, "\(result)")
    }

    @Test("cycle partner writes a partner's page and a CSV whose obligations add up to the page and the cycle")
    func partnerPage() throws {
        let work = try WorkDirectory()
        defer { work.remove() }
        let data = work.file("data")
        #expect(try work.coalition("demo", "--partners", partners, "--seeds", seeds, data: data).status == 0)
        let show = try work.coalition("cycle", "show", "1", "--json", data: data)
        let cycle = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any])
        let currencies = try #require(cycle["currencies"] as? [[String: Any]])
        for partner in ["HARBOR", "MARKETPLACE", "ROADRUNNER", "SKYWAYS"] {
            let result = try work.coalition("cycle", "partner", "1", partner, "--json", data: data)
            #expect(result.status == 0, "\(result)")
            let written = try #require(
                try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            )
            let page = try #require(written["page"] as? String)
            let csvPath = try #require(written["csv"] as? String)
            #expect(page == work.file("data", "reports", "cycle-000001-\(partner).html"))
            let html = try String(contentsOfFile: page, encoding: .utf8)
            #expect(XMLParser(data: Data(html.utf8)).parse(), "the page is well-formed")
            let lines = try String(contentsOfFile: csvPath, encoding: .utf8).split(separator: "\n")
            #expect(lines.first == Substring(PartnerCycleReport.csvHeader))
            #expect(lines.count - 1 == written["obligations"] as? Int)
            // Sum the CSV per currency, counterparty and direction.
            var sums: [String: Int64] = [:]
            for line in lines.dropFirst() {
                let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                #expect(f.count == 12, "\(line)")
                let counterparty = f[7] == "due" ? f[5] : f[6]
                #expect((f[7] == "due" ? f[6] : f[5]) == partner, "\(line)")
                sums["\(f[8])|\(counterparty)|\(f[7])", default: 0] += Int64(f[10]) ?? 0
            }
            // The cycle's gross matrix, as cycle show says it, is what the CSV adds up to.
            var expected: [String: Int64] = [:]
            for currency in currencies {
                let code = try #require(currency["currency"] as? String)
                for cell in currency["gross"] as? [[String: Any]] ?? [] {
                    let debtor = cell["debtor"] as? String
                    let creditor = cell["creditor"] as? String
                    let amount = cell["amountMinor"] as? Int64 ?? 0
                    if creditor == partner { expected["\(code)|\(debtor!)|due"] = amount }
                    if debtor == partner { expected["\(code)|\(creditor!)|owed"] = amount }
                }
                // The page says the partner's net and fee as cycle show does.
                let net = (currency["net"] as? [String: Int64])?[partner] ?? 0
                let e = try Currency(code: code).minorUnitExponent
                #expect(html.contains(">\(Money.decimal(net, exponent: e))</td></tr>"), "\(partner) \(code) net")
                let fee = (currency["fees"] as? [String: Int64])?[partner] ?? 0
                #expect(html.contains("<td>clearing fee</td><td class=\"n\">\(Money.decimal(-fee, exponent: e))</td>"))
            }
            #expect(sums.filter { $0.value != 0 } == expected.filter { $0.value != 0 }, "\(partner)")
        }
        let unknown = try work.coalition("cycle", "partner", "1", "harbour", data: data)
        #expect(unknown.status == 3 && unknown.stderr.contains("Did you mean HARBOR?"), "\(unknown)")
        let noCycle = try work.coalition("cycle", "partner", "9", "HARBOR", data: data)
        #expect(noCycle.status == 2, "\(noCycle)")
    }
}
