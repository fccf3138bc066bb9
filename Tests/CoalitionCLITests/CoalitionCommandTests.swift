import CoalitionFiles
import CoalitionGeneration
import CoalitionKit
import CoalitionSQLite
import CoalitionTestSupport
import Foundation
import Testing

@Suite("coalition: the command, end to end")
struct CoalitionCommandTests {
    let partners = CommandRunner.partnersDirectory
    let seeds = CommandRunner.seedsDirectory

    /// A work directory with a demo data directory in `data/`.
    func demo() throws -> (WorkDirectory, String, CommandRunner.Result) {
        let work = try WorkDirectory()
        let data = work.file("data")
        let result = try work.coalition("demo", "--partners", partners, "--seeds", seeds, data: data)
        return (work, data, result)
    }

    /// Opens the ledger a command wrote, in this process.
    func openLedger(_ data: String) throws -> Ledger {
        let network = try NetworkLoader.load(directory: (data as NSString).appendingPathComponent("network"))
        let store = try SQLiteStore(path: (data as NSString).appendingPathComponent("ledger.sqlite"))
        return try Ledger(network: network, store: store)
    }

    @Test("demo builds the network, prints its summary and a clean audit")
    func demoCommand() throws {
        let (work, data, result) = try demo()
        defer { work.remove() }
        #expect(result.status == 0, "\(result)")
        #expect(result.stderr == "")
        #expect(result.stdout.hasPrefix("Ingesting 22 signed settlement files"))
        #expect(
            result.stdout.contains(
                "22 files accepted: 3224 records, 3223 applied, 1 rejected (1 INSUFFICIENT_POINTS)"
            )
        )
        #expect(result.stdout.contains("retried with the same key: "))
        #expect(result.stdout.contains("refused, TRANSFER_LIMIT_EXCEEDED: transfers per day"))
        #expect(result.stdout.contains("Expiry as of 2026-11-10: 33,750 points in 12 lots of 12 members"))
        #expect(result.stdout.contains("replayed replay-HARBOR-000001.csf: duplicate of batch 1, nothing applied"))
        #expect(result.stdout.contains("damaged-HARBOR-000001.csf: REJECTED BAD_SIGNATURE"))
        #expect(result.stdout.contains("Coalition demo network: 212 members, 4 partners\n"))
        #expect(result.stdout.contains("Points outstanding by issuer:"))
        #expect(result.stdout.contains("Obligations between partners (open, gross):"))
        #expect(result.stdout.contains("Cycle 1: 720 obligations through 2026-11-10T00:00:00Z"))
        #expect(result.stdout.contains("MARKETPLACE reconciles cycle 1:"))
        #expect(result.stdout.contains("AMOUNT_DIFFERS"))
        #expect(result.stdout.contains("MISSING_IN_PARTNER_FILE"))
        #expect(result.stdout.contains("\naudit: OK: 3238 postings"))
        // What it printed is what the ledger holds.
        let ledger = try openLedger(data)
        // As of the demo's end, where it printed the summary (expiry had run up to then).
        let summary = try NetworkSummary(ledger: ledger, at: Timestamp(parsing: "2026-11-10T00:00:00Z"))
        #expect(summary.members == 212)
        #expect(summary.expiredPending == 0)
        let total = result.stdout.split(separator: "\n").first { $0.hasPrefix("  total ") }
        #expect(total?.hasSuffix(" \(Points.grouped(summary.pointsHeld))") == true, "\(result)")
        for line in summary.issuers {
            #expect(result.stdout.contains("\(line.issuer.rawValue)"))
            #expect(result.stdout.contains(" \(Points.grouped(line.pointsOutstanding)) "))
        }
        #expect(try Audit.run(ledger).isClean)
        // The data directory: the ledger, the network, owner-only keys, the folders.
        let fileManager = FileManager.default
        for name in ["ledger.sqlite", ".demo", "network/network.json", "network/harbor.json", "inbox", "outbox"] {
            #expect(fileManager.fileExists(atPath: work.file("data", name)), "\(name)")
        }
        let keys = try fileManager.attributesOfItem(atPath: work.file("data", "keys"))
        #expect((keys[.posixPermissions] as? NSNumber)?.intValue == 0o700)
        let key = try fileManager.attributesOfItem(atPath: work.file("data", "keys", "HARBOR-2026A.key"))
        #expect((key[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        // Nothing was written to the working directory itself.
        #expect(try fileManager.contentsOfDirectory(atPath: work.path) == ["data"])
    }

    @Test("demo replaces a data directory an earlier demo made, with the same result")
    func demoAgain() throws {
        let (work, data, first) = try demo()
        defer { work.remove() }
        let again = try work.coalition("demo", "--partners", partners, "--seeds", seeds, data: data)
        #expect(again.status == 0, "\(again)")
        // The same, but for the times the cycle closed.
        func masked(_ text: String) -> [Substring] {
            text.split(separator: "\n").filter { !$0.contains(", closed 20") }
        }
        #expect(masked(again.stdout) == masked(first.stdout))
    }

    @Test("demo refuses a data directory it did not make, and leaves it untouched")
    func demoRefuses() throws {
        let work = try WorkDirectory()
        defer { work.remove() }
        let mine = work.file("mine")
        try FileManager.default.createDirectory(atPath: mine, withIntermediateDirectories: true)
        try Data("keep me\n".utf8).write(to: URL(fileURLWithPath: work.file("mine", "notes.txt")))
        let before = work.snapshot(mine)
        let result = try work.coalition("demo", "--partners", partners, "--seeds", seeds, data: mine)
        #expect(result.status == 3, "\(result)")
        #expect(result.stderr.contains("LEDGER_EXISTS"))
        #expect(result.stdout == "")
        #expect(work.snapshot(mine) == before)
    }

    @Test("member show prints a member's balance and lots, and the same as JSON")
    func memberShow() throws {
        let (work, data, demoResult) = try demo()
        defer { work.remove() }
        try #require(demoResult.status == 0)
        let ledger = try openLedger(data)
        let account = try #require(
            ledger.state.members.values.filter { $0.lots.count >= 2 }.min { $0.number < $1.number }
        )
        let number = account.number.description

        let text = try work.coalition("member", "show", number, data: data)
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout.hasPrefix("Member \(number)\n"))
        #expect(text.stdout.contains("  balance: \(Points.grouped(account.balance)) points\n"))
        for lot in account.lots {
            let row = text.stdout.split(separator: "\n").first { $0.split(separator: " ").first == "\(lot.id)" }
            #expect(row?.contains(lot.issuer.rawValue) == true, "lot \(lot.id)")
            #expect(row?.contains(Points.grouped(lot.points)) == true, "lot \(lot.id)")
            #expect(row?.contains(lot.expiresAt.date) == true, "lot \(lot.id)")
        }

        let json = try work.coalition("member", "show", number, "--json", data: data)
        #expect(json.status == 0, "\(json)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        )
        #expect(object["member"] as? String == number)
        #expect((object["balance"] as? NSNumber)?.int64Value == account.balance)
        let lots = try #require(object["lots"] as? [[String: Any]])
        #expect(lots.count == account.lots.count + account.debts.count)
        #expect(lots.compactMap { ($0["points"] as? NSNumber)?.int64Value }.reduce(0, +) == account.balance)
        let obligations = try #require(object["obligations"] as? [[String: Any]])
        #expect(obligations.count == (try ledger.store.obligations(causedBy: account.number)).count)

        // Long after every lot's expiry: nothing alive, everything shown apart as dead.
        let late = try work.coalition("member", "show", number, "--at", "2099-01-01T00:00:00Z", data: data)
        #expect(late.status == 0, "\(late)")
        let dead = account.lots.reduce(0) { $0 + $1.points }
        let owed = account.debts.reduce(0) { $0 + $1.points }
        #expect(late.stdout.contains("  balance: \(Points.grouped(owed)) points\n"))
        #expect(late.stdout.contains("  expired, breakage pending: \(Points.grouped(dead)) points"))
        let lateJSON = try work.coalition(
            "member",
            "show",
            number,
            "--at",
            "2099-01-01T00:00:00Z",
            "--json",
            data: data
        )
        let lateObject = try #require(
            try JSONSerialization.jsonObject(with: Data(lateJSON.stdout.utf8)) as? [String: Any]
        )
        #expect((lateObject["balance"] as? NSNumber)?.int64Value == owed)
        #expect((lateObject["expiredPending"] as? NSNumber)?.int64Value == dead)
    }

    @Test("member show with a mistyped number exits 3 with BAD_MEMBER_NUMBER")
    func memberShowTypo() throws {
        let (work, data, _) = try demo()
        defer { work.remove() }
        let number = ActivityGenerator.memberNumber(7).description
        var digits = Array(number)
        digits[digits.count - 1] = digits.last == "9" ? "0" : Character(String(digits.last!.wholeNumberValue! + 1))
        let typo = String(digits)
        let result = try work.coalition("member", "show", typo, data: data)
        #expect(result.status == 3, "\(result)")
        #expect(result.stderr.contains("BAD_MEMBER_NUMBER"))
        #expect(result.stderr.contains(typo))
        #expect(result.stdout == "")
        let unknown = try work.coalition(
            "member",
            "show",
            try MemberNumber.withCheckDigit(123_456_789).description,
            data: data
        )
        #expect(unknown.status == 3, "\(unknown)")
        #expect(unknown.stderr.contains("UNKNOWN_MEMBER"))
    }

    @Test("audit passes a fresh ledger and names a posting changed behind its back")
    func audit() throws {
        let (work, data, _) = try demo()
        defer { work.remove() }
        let clean = try work.coalition("audit", data: data)
        #expect(clean.status == 0, "\(clean)")
        #expect(clean.stdout.hasPrefix("audit: OK: 3238 postings, hash chain intact"))
        let json = try work.coalition("audit", "--json", data: data)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(object?["ok"] as? Bool == true)
        #expect((object?["postings"] as? NSNumber)?.intValue == 3238)

        do {
            let store = try SQLiteStore(path: work.file("data", "ledger.sqlite"))
            try store.executeForTesting("UPDATE postings SET points = points + 1 WHERE seq = 1234")
        }
        let tampered = try work.coalition("audit", data: data)
        #expect(tampered.status == 1, "\(tampered)")
        #expect(tampered.stdout.hasPrefix("audit: FAILED: 1 problem in 3238 postings"))
        #expect(tampered.stdout.contains("AUDIT_FAILED: posting 1234 does not match the hash chain"))
    }

    @Test("a command leaves the ledger's state saved for the next; audit holds that file to the tables")
    func savedState() throws {
        let (work, data, _) = try demo()
        defer { work.remove() }
        let stateFile = work.file("data", "ledger.sqlite-state")
        #expect(FileManager.default.fileExists(atPath: stateFile))
        let shown = try work.coalition("report", "liability", data: data)
        #expect(shown.status == 0, "\(shown)")
        do {
            let ledger = try openLedger(data)
            #expect((ledger.store as? SQLiteStore)?.loadedFromStateFile == true)
        }
        // Without the file the tables give the same answers, and the next command saves it again.
        try FileManager.default.removeItem(atPath: stateFile)
        // (The first line names the time of the report.)
        let again = try work.coalition("report", "liability", data: data)
        #expect(again.stdout.split(separator: "\n").dropFirst() == shown.stdout.split(separator: "\n").dropFirst())
        #expect(FileManager.default.fileExists(atPath: stateFile))
        #expect(try work.coalition("audit", data: data).status == 0)

        do {
            let store = try SQLiteStore(path: work.file("data", "ledger.sqlite"))
            try store.executeForTesting("UPDATE lots SET points = points + 1 WHERE id = (SELECT min(id) FROM lots)")
        }
        let tampered = try work.coalition("audit", data: data)
        #expect(tampered.status == 1, "\(tampered)")
        #expect(tampered.stdout.hasPrefix("audit: FAILED: 1 problem in 3238 postings"))
        #expect(tampered.stdout.contains("AUDIT_FAILED: the state file's member "))
    }

    @Test("audit refuses a data directory without a ledger, or with a file that is not one")
    func auditRefuses() throws {
        let work = try WorkDirectory()
        defer { work.remove() }
        let empty = try work.coalition("audit", data: work.file("nothing"))
        #expect(empty.status == 3, "\(empty)")
        #expect(empty.stderr.contains("NO_LEDGER"))
        #expect(!FileManager.default.fileExists(atPath: work.file("nothing")))

        try FileManager.default.createDirectory(atPath: work.file("other"), withIntermediateDirectories: true)
        let text = Data(("not a ledger\n" + String(repeating: "-", count: 1_000)).utf8)
        try text.write(to: URL(fileURLWithPath: work.file("other", "ledger.sqlite")))
        let other = try work.coalition("audit", data: work.file("other"))
        #expect(other.status == 3, "\(other)")
        #expect(other.stderr.contains("NOT_A_LEDGER"))
        #expect(FileManager.default.contents(atPath: work.file("other", "ledger.sqlite")) == text)
    }

    @Test("init makes a data directory once; a second init is LEDGER_EXISTS and changes nothing")
    func initTwice() throws {
        let work = try WorkDirectory()
        defer { work.remove() }
        let data = work.file("data")
        let first = try work.coalition("init", "--partners", partners, data: data)
        #expect(first.status == 0, "\(first)")
        #expect(first.stdout.contains("with 4 partners"))
        let before = work.snapshot(data)
        #expect(before["ledger.sqlite"] != nil)
        let second = try work.coalition("init", "--partners", partners, data: data)
        #expect(second.status == 3, "\(second)")
        #expect(second.stderr.contains("LEDGER_EXISTS"))
        #expect(work.snapshot(data) == before)
        let audit = try work.coalition("audit", data: data)
        #expect(audit.status == 0, "\(audit)")
        #expect(audit.stdout.hasPrefix("audit: OK: 0 postings"))
    }

    @Test("a wrong command line exits 2 and says how to use the command")
    func usage() throws {
        let work = try WorkDirectory()
        defer { work.remove() }
        let unknown = try work.coalition("frobnicate")
        #expect(unknown.status == 2, "\(unknown)")
        #expect(unknown.stderr.contains("unknown command 'frobnicate'"))
        #expect(unknown.stderr.contains("coalition --help"))
        #expect(unknown.stdout == "")

        let option = try work.coalition("audit", "--frobnicate")
        #expect(option.status == 2, "\(option)")
        #expect(option.stderr.contains("unknown option --frobnicate"))
        #expect(option.stderr.contains("usage: coalition audit"))

        let missing = try work.coalition("member", "show")
        #expect(missing.status == 2, "\(missing)")
        #expect(missing.stderr.contains("usage: coalition member show NUMBER"))

        let group = try work.coalition("member")
        #expect(group.status == 2, "\(group)")
        #expect(group.stderr.contains("show"))

        let nothing = try work.coalition()
        #expect(nothing.status == 2, "\(nothing)")
        #expect(nothing.stdout.contains("usage: coalition COMMAND"))

        let help = try work.coalition("audit", "--help")
        #expect(help.status == 0, "\(help)")
        #expect(help.stdout.contains("usage: coalition audit"))
        // None of it touched the working directory.
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.path) == [])
    }
}
