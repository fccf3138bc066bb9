import CoalitionGeneration
import CoalitionKit
import Foundation
import Testing

@Suite("coalition: cycles, reports, members and reconciliation, end to end")
struct OperatorCommandTests {
    func json(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    @Test("after the demo: cycles, statements, reports, transfers, statements of members, expiry")
    func afterDemo() throws {
        let work = try WorkDirectory()
        defer { work.remove() }
        let data = work.file("data")
        try work.demo(data: data)

        let list = try work.coalition("cycle", "list", "--json", data: data)
        #expect(list.status == 0, "\(list)")
        #expect((json(list.stdout)?["cycles"] as? [Any])?.count == 1)
        #expect(try work.coalition("cycle", "show", "1", data: data).status == 0)
        let same = try work.coalition("cycle", "close", "--through", "2026-11-09", data: data)
        #expect(same.status == 0)
        #expect(same.stdout.hasPrefix("Nothing new"), "\(same)")
        let second = try work.coalition("cycle", "close", "--through", "2026-12-01", data: data)
        #expect(second.status == 0, "\(second)")
        for partner in ["HARBOR", "MARKETPLACE", "ROADRUNNER", "SKYWAYS"] {
            let statement = work.file("data", "outbox", "\(partner)-cycle-000002.stmt")
            #expect(FileManager.default.fileExists(atPath: statement), "\(partner)")
            let verified = try work.coalition("verify", statement, data: data)
            #expect(verified.status == 0, "\(verified)")
        }

        let positions = try work.coalition("report", "positions", "--json", data: data)
        #expect(json(positions.stdout)?["openObligations"] as? Int == 0, "\(positions)")
        let liability = try work.coalition("report", "liability", "--json", data: data)
        let issuers = json(liability.stdout)?["issuers"] as? [[String: Any]] ?? []
        let breakage = Dictionary(
            uniqueKeysWithValues: issuers.map { ($0["issuer"] as? String ?? "", $0["breakage"] as? Int ?? 0) }
        )
        #expect((breakage["SKYWAYS"] ?? 0) > 0 && (breakage["HARBOR"] ?? 0) > 0, "\(liability)")
        let html = try work.coalition("report", "liability", "--html", data: data)
        #expect(html.status == 0)
        #expect(FileManager.default.fileExists(atPath: html.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let expiring = try work.coalition(
            "report",
            "expiring",
            "--within",
            "3650",
            "--as-of",
            "2026-11-10",
            "--json",
            data: data
        )
        #expect(((json(expiring.stdout)?["members"] as? [Any])?.count ?? 0) > 0, "\(expiring)")

        // Members: a transfer, its replay, a conflicting reuse of the key; after the cycle
        // closed through 2026-12-31, as a transfer may not take effect inside a closed cycle.
        let a = ActivityGenerator.memberNumber(3).description
        let b = ActivityGenerator.memberNumber(4).description
        let show = try work.coalition("member", "show", a, "--json", data: data)
        let balance = json(show.stdout)?["balance"] as? Int ?? -1
        #expect(show.stdout.contains("\"tier\""))
        let human = try work.coalition("member", "show", a, data: data)
        #expect(human.stdout.contains("tier: "), "\(human)")
        if balance >= 1_000 {
            let first = try work.coalition(
                "member",
                "transfer",
                a,
                b,
                "1000",
                "--idempotency-key",
                "k1",
                "--at",
                "2027-01-15T10:00:00Z",
                data: data
            )
            #expect(first.status == 0, "\(first)")
            let again = try work.coalition(
                "member",
                "transfer",
                a,
                b,
                "1000",
                "--idempotency-key",
                "k1",
                "--at",
                "2027-01-15T10:00:00Z",
                data: data
            )
            #expect(again.stdout.hasPrefix("Already done"), "\(again)")
            let conflict = try work.coalition(
                "member",
                "transfer",
                a,
                b,
                "2000",
                "--idempotency-key",
                "k1",
                "--at",
                "2027-01-15T10:00:00Z",
                data: data
            )
            #expect(conflict.status == 1)
            #expect(conflict.stderr.contains("IDEMPOTENCY_CONFLICT"), "\(conflict)")
        }
        // Through the transfer's time (after the closed cycle, later than today).
        let statement = try work.coalition("member", "statement", a, "--to", "2027-12-31", "--json", data: data)
        let after = json(try work.coalition("member", "show", a, "--json", data: data).stdout)?["balance"] as? Int
        #expect(json(statement.stdout)?["closing"] as? Int == after, "\(statement)")
        #expect(try work.coalition("tiers", "review", "--as-of", "2026-11-10", data: data).status == 0)
        let expireAgain = try work.coalition("expire", "--as-of", "2026-11-10", "--json", data: data)
        #expect(json(expireAgain.stdout)?["points"] as? Int == 0, "\(expireAgain)")
        #expect(try work.coalition("audit", data: data).status == 0)
    }
}
