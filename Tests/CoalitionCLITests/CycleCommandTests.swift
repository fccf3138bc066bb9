import CoalitionFiles
import CoalitionKit
import CoalitionSQLite
import CoalitionTestSupport
import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

@Suite("coalition cycle, reconcile and report: end to end")
struct CycleCommandTests {
    let partners = CommandRunner.partnersDirectory
    let seeds = CommandRunner.seedsDirectory

    /// A work directory with a demo data directory in `data/` (one cycle closed through
    /// 2026-11-10T00:00:00Z).
    func demo() throws -> (WorkDirectory, String) { try WorkDirectory.withDemo() }

    func openLedger(_ data: String) throws -> Ledger {
        let network = try NetworkLoader.load(directory: (data as NSString).appendingPathComponent("network"))
        let store = try SQLiteStore(path: (data as NSString).appendingPathComponent("ledger.sqlite"))
        return try Ledger(network: network, store: store)
    }

    func contentDump(_ data: String) throws -> String {
        try SQLiteStore(path: (data as NSString).appendingPathComponent("ledger.sqlite")).contentDump()
    }

    /// The JSON object a command printed.
    func json(_ result: CommandRunner.Result, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any]
    {
        #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        return try #require(object as? [String: Any], "\(result)", sourceLocation: sourceLocation)
    }

    func isWellFormedXML(_ path: String) throws -> Bool {
        let parser = XMLParser(data: try #require(FileManager.default.contents(atPath: path)))
        return parser.parse()
    }

    /// What `describe` prints of a cycle's currencies, from the ledger in this process.
    func expectSame(
        _ printed: [String: Any],
        as cycle: ClearingCycle,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(printed["number"] as? Int64 == cycle.number, sourceLocation: sourceLocation)
        #expect(printed["through"] as? String == cycle.through.description, sourceLocation: sourceLocation)
        #expect(printed["obligations"] as? Int == cycle.obligationCount, sourceLocation: sourceLocation)
        let currencies = printed["currencies"] as? [[String: Any]] ?? []
        #expect(currencies.map { $0["currency"] as? String } == cycle.clearings.map(\.currency.code))
        for (object, clearing) in zip(currencies, cycle.clearings) {
            #expect(object["grossMinor"] as? Int64 == clearing.grossTotal, sourceLocation: sourceLocation)
            #expect(object["netMinor"] as? Int64 == clearing.netTotal, sourceLocation: sourceLocation)
            let net = (object["net"] as? [String: Int64]) ?? [:]
            #expect(
                net == Dictionary(uniqueKeysWithValues: clearing.net.map { ($0.key.description, $0.value) }),
                sourceLocation: sourceLocation
            )
            let fewest = (object["fewestPayments"] as? [[String: Any]]) ?? []
            #expect(fewest.count == clearing.fewestPayments.count, sourceLocation: sourceLocation)
        }
    }

    @Test("cycle list, show and close: nothing new at or before the last cut-off, then a second cycle with statements")
    func cycles() throws {
        let (work, data) = try demo()
        defer { work.remove() }
        let ledger = try openLedger(data)
        let first = try #require(try ledger.store.cycles().first)

        let list = try json(try work.coalition("cycle", "list", "--json", data: data))
        let listed = try #require(list["cycles"] as? [[String: Any]])
        #expect(listed.count == 1)
        expectSame(try #require(listed.first), as: first)
        #expect(first.obligationCount == 720)

        let show = try work.coalition("cycle", "show", "1", data: data)
        #expect(show.status == 0, "\(show)")
        #expect(show.stdout.hasPrefix("Cycle 1: 720 obligations through 2026-11-10T00:00:00Z"))
        for clearing in first.clearings {
            let e = clearing.currency.minorUnitExponent
            #expect(
                show.stdout.contains(
                    "\(clearing.currency): gross \(Money.decimal(clearing.grossTotal, exponent: e)), "
                        + "net \(Money.decimal(clearing.netTotal, exponent: e))"
                )
            )
        }
        expectSame(try json(try work.coalition("cycle", "show", "1", "--json", data: data)), as: first)
        let missing = try work.coalition("cycle", "show", "2", data: data)
        #expect(missing.status == 2, "\(missing)")
        #expect(missing.stderr.contains("USAGE"))

        // The last cut-off again, or an earlier day: nothing new, nothing written.
        let dump = try contentDump(data)
        let outbox = work.snapshot(work.file("data", "outbox"))
        for through in ["2026-11-10T00:00:00Z", "2026-11-09", "2026-01-01"] {
            let again = try work.coalition("cycle", "close", "--through", through, data: data)
            #expect(again.status == 0, "\(again)")
            #expect(again.stdout == "Nothing new: cycle 1 already closed through 2026-11-10T00:00:00Z.\n")
            #expect(try contentDump(data) == dump)
        }
        let againJSON = try json(
            try work.coalition("cycle", "close", "--through", "2026-11-10T00:00:00Z", "--json", data: data)
        )
        #expect(againJSON["closed"] as? Bool == false && againJSON["lastCycle"] as? Int64 == 1)
        #expect(work.snapshot(work.file("data", "outbox")) == outbox)

        // A new cut-off: a second cycle, a signed statement for every partner, the report.
        let close = try work.coalition("cycle", "close", "--through", "2026-12-01", data: data)
        #expect(close.status == 0, "\(close)")
        #expect(close.stdout.hasPrefix("Cycle 2: "))
        #expect(close.stdout.contains(" through 2026-12-01T23:59:59Z"))
        let reopened = try openLedger(data)
        let cycles = try reopened.store.cycles()
        #expect(cycles.map(\.number) == [1, 2])
        let second = try #require(cycles.last)
        #expect(second.through == (try Timestamp(parsing: "2026-12-01T23:59:59Z")))
        #expect(try Audit.run(reopened).isClean)
        for partner in reopened.network.sortedPartners {
            let name = "\(partner.id)-cycle-000002.stmt"
            let path = work.file("data", "outbox", name)
            #expect(FileManager.default.fileExists(atPath: path), "\(name)")
            let verify = try work.coalition("verify", path, data: data)
            #expect(verify.status == 0, "\(verify)")
            #expect(verify.stdout.contains("signature valid: COALITION-STATEMENT C2P for \(partner.id), number 2"))
            // What the command wrote is the library's statement of the cycle on disk.
            let text = try String(contentsOfFile: path, encoding: .utf8)
            var lines = text.split(separator: "\n").map(String.init)
            #expect(lines.popLast()?.hasPrefix("S|") == true)
            let keyID = try #require(lines.first?.split(separator: "|").last.map(String.init))
            let obligations = try reopened.store.obligations(cycle: 2)
            #expect(lines == Statement.lines(for: partner.id, cycle: second, keyID: keyID, obligations: obligations))
            // And a byte changed is caught.
            var bytes = [UInt8](try #require(FileManager.default.contents(atPath: path)))
            bytes[bytes.count / 3] ^= 0x01
            let tampered = work.file("tampered-\(name)")
            try Data(bytes).write(to: URL(fileURLWithPath: tampered))
            let bad = try work.coalition("verify", tampered, data: data)
            #expect(bad.status == 3, "\(bad)")
        }
        let report = work.file("data", "reports", "cycle-000002.html")
        #expect(try isWellFormedXML(report))
        let listedAgain = try json(try work.coalition("cycle", "list", "--json", data: data))
        let both = try #require(listedAgain["cycles"] as? [[String: Any]])
        #expect(both.count == 2)
        expectSame(try #require(both.last), as: second)
    }

    @Test("a date means its whole day: --through 2026-11-10 is after the demo's cut-off at midnight")
    func wholeDay() throws {
        let (work, data) = try demo()
        defer { work.remove() }
        let close = try work.coalition("cycle", "close", "--through", "2026-11-10", data: data)
        #expect(close.status == 0, "\(close)")
        #expect(close.stdout.hasPrefix("Cycle 2: 0 obligations through 2026-11-10T23:59:59Z"))
        #expect(close.stdout.contains("No obligations: nothing to settle."))
        let bad = try work.coalition("cycle", "close", "--through", "10 November", data: data)
        #expect(bad.status == 2, "\(bad)")
        let none = try work.coalition("cycle", "close", data: data)
        #expect(none.status == 2, "\(none)")
    }

    @Test("report positions and liability as JSON agree with the ledger; the HTML pages parse")
    func reports() throws {
        let (work, data) = try demo()
        defer { work.remove() }
        let ledger = try openLedger(data)
        let positions = try json(try work.coalition("report", "positions", "--json", data: data))
        #expect(positions["openObligations"] as? Int == (try ledger.store.obligations(openOnly: true).count))
        let expected = try PositionsReport(ledger: ledger, asOf: Timestamp(seconds: 0))
        let currencies = try #require(positions["currencies"] as? [[String: Any]])
        #expect(currencies.map { $0["currency"] as? String } == expected.clearings.map(\.currency.code))

        let liability = try json(try work.coalition("report", "liability", "--json", data: data))
        let issuers = try #require(liability["issuers"] as? [[String: Any]])
        #expect(issuers.map { $0["issuer"] as? String } == ledger.network.sortedPartners.map(\.id.rawValue))
        for issuer in issuers {
            let id = try PartnerID(try #require(issuer["issuer"] as? String))
            #expect(issuer["pointsOutstanding"] as? Int64 == ledger.outstanding(id))
        }
        #expect(issuers.contains { ($0["pointsOutstanding"] as? Int64 ?? 0) > 0 })

        for kind in ["liability", "positions"] {
            let html = try work.coalition("report", kind, "--html", data: data)
            #expect(html.status == 0, "\(html)")
            let path = html.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(path == work.file("data", "reports", "\(kind).html"))
            #expect(try isWellFormedXML(path), "\(kind)")
        }
    }

    @Test("--json answers once written by JSONSerialization keep its bytes: sorted keys, `\\/`, nulls")
    func jsonAnswerBytes() throws {
        let (work, data) = try demo()
        defer { work.remove() }
        let member = "6001000000010"
        let archived = work.file("data", "archive", "MARKETPLACE-reconcile-cycle-1.rec")
        let commands: [[String]] = [
            ["cycle", "show", "1"], ["cycle", "list"], ["member", "show", member], ["member", "statement", member],
            ["report", "expiring", "--within", "400"], ["reconcile", archived],
        ]
        for command in commands {
            let result = try CommandRunner.run(command + ["--json", "--data", data], in: work.path)
            #expect(!result.stdout.isEmpty, "\(command) \(result)")
            let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
            let written = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            #expect(result.stdout == String(decoding: written, as: UTF8.self) + "\n", "\(command)")
        }
        let shown = try work.coalition("member", "show", member, "--json", data: data).stdout
        #expect(shown.contains("\\/") && shown.contains("\"nextTier\" : "))
    }

    @Test("reconcile: the demo's view has breaks (exit 1), a perfect view none (exit 0), a tampered file exits 3")
    func reconcile() throws {
        let (work, data) = try demo()
        defer { work.remove() }
        let archived = work.file("data", "archive", "MARKETPLACE-reconcile-cycle-1.rec")
        let demoView = try work.coalition("reconcile", archived, data: data)
        #expect(demoView.status == 1, "\(demoView)")
        #expect(demoView.stdout.contains("AMOUNT_DIFFERS") && demoView.stdout.contains("MISSING_IN_PARTNER_FILE"))
        let breaks = try #require(
            (try JSONSerialization.jsonObject(
                with: Data(try work.coalition("reconcile", archived, "--json", data: data).stdout.utf8)
            ) as? [String: Any])?["breaks"] as? [[String: Any]]
        )
        #expect(Set(breaks.compactMap { $0["kind"] as? String }) == ["AMOUNT_DIFFERS", "MISSING_IN_PARTNER_FILE"])

        // MARKETPLACE's perfect view, signed with its key from the data directory.
        let ledger = try openLedger(data)
        let partner = try ledger.network.partner(PartnerID("MARKETPLACE"))
        let entries = try Reconciliation.ledgerView(ledger, partner: partner.id).compactMap { id, sides in
            sides.first { $0.cycle == 1 }.map { Reconciliation.Entry(recordID: id, amount: $0.amount) }
        }.sorted { $0.recordID < $1.recordID }
        #expect(entries.count > 10)
        let createdAt = Timestamp(seconds: 1_795_000_000)
        let key = try KeyRing.load(partner, directory: work.file("data", "keys")).signingKey(at: createdAt)
        let header = FileHeader(
            kind: .reconciliation,
            partner: partner.id,
            sequence: 1,
            createdAt: createdAt,
            keyID: key.info.id
        )
        let perfect = work.file("perfect.rec")
        try Reconciliation.write(entries, header: header, key: key.secret, to: perfect)
        let good = try work.coalition("reconcile", perfect, data: data)
        #expect(good.status == 0, "\(good)")
        #expect(good.stdout.hasPrefix("MARKETPLACE reconciles cycle 1: \(entries.count) records matched"))
        #expect(good.stdout.contains(", 0 breaks"))

        // One digit of an amount changed: the signature no longer matches.
        var bytes = [UInt8](try #require(FileManager.default.contents(atPath: perfect)))
        let headerEnd = try #require(bytes.firstIndex(of: 10))
        let digit = try #require(bytes.indices.first { $0 > headerEnd && (48...56).contains(bytes[$0]) })
        bytes[digit] += 1
        let tampered = work.file("tampered.rec")
        try Data(bytes).write(to: URL(fileURLWithPath: tampered))
        let bad = try work.coalition("reconcile", tampered, data: data)
        #expect(bad.status == 3, "\(bad)")
        #expect(bad.stderr.contains("BAD_SIGNATURE"))
        #expect(bad.stdout == "")
    }
}
