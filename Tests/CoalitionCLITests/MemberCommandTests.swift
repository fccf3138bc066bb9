import CoalitionFiles
import CoalitionKit
import CoalitionSQLite
import CoalitionTestSupport
import Foundation
import Testing

@Suite("coalition: member transfer, statement, show, tiers review, expire, reports, end to end")
struct MemberCommandTests {
    let partners = CommandRunner.partnersDirectory
    let seeds = CommandRunner.seedsDirectory

    /// A work directory with a demo data directory in `data/`.
    func demo() throws -> (WorkDirectory, String) { try WorkDirectory.withDemo() }

    func time(_ text: String) -> Timestamp { try! Timestamp(parsing: text) }

    /// Opens the ledger the commands wrote, in this process.
    func openLedger(_ data: String) throws -> Ledger {
        let network = try NetworkLoader.load(directory: (data as NSString).appendingPathComponent("network"))
        let store = try SQLiteStore(path: (data as NSString).appendingPathComponent("ledger.sqlite"))
        return try Ledger(network: network, store: store)
    }

    func object(
        _ result: CommandRunner.Result,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws
        -> [String: Any]
    {
        #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        let parsed = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        return try #require(parsed as? [String: Any], "\(result)", sourceLocation: sourceLocation)
    }

    /// Two members who took no part in the demo's transfers, the first holding points.
    func pair(_ data: String, at time: Timestamp) throws -> (MemberNumber, MemberNumber) {
        let ledger = try openLedger(data)
        let quiet = ledger.state.members.values.filter { $0.transfers.isEmpty && $0.debts.isEmpty }
            .sorted { $0.number < $1.number }
        let sender = try #require(quiet.first { $0.available(at: time) >= 10_000 })
        let receiver = try #require(quiet.first { $0.number != sender.number })
        return (sender.number, receiver.number)
    }

    @Test("member transfer: moves, says a retry with the same key was already done, refuses another amount")
    func transfer() throws {
        let (work, data) = try demo()
        defer { work.remove() }
        let at = "2026-11-10T12:00:00Z"
        let (a, b) = try pair(data, at: time(at))
        let before = try openLedger(data)
        let balances = (before.member(a)!.balance, before.member(b)!.balance)
        let lastSeq = before.state.lastSeq

        let first = try work.coalition(
            "member",
            "transfer",
            "\(a)",
            "\(b)",
            "1000",
            "--idempotency-key",
            "k1",
            "--at",
            at,
            data: data
        )
        #expect(first.status == 0, "\(first)")
        #expect(first.stderr == "")
        #expect(first.stdout == "transferred 1,000 points from \(a) to \(b) (posting \(lastSeq + 1))\n")
        let afterFirst = try SQLiteStore(path: (data as NSString).appendingPathComponent("ledger.sqlite")).contentDump()

        let again = try work.coalition(
            "member",
            "transfer",
            "\(a)",
            "\(b)",
            "1000",
            "--idempotency-key",
            "k1",
            "--at",
            at,
            data: data
        )
        #expect(again.status == 0, "\(again)")
        #expect(again.stdout.hasPrefix("Already done (same idempotency key): "), "\(again)")
        #expect(again.stdout.contains("(posting \(lastSeq + 1))"))
        // The retry writes nothing, not even an empty batch (issue 20: a rerun after a crash
        // must leave what one run leaves).
        #expect(
            try SQLiteStore(path: (data as NSString).appendingPathComponent("ledger.sqlite")).contentDump()
                == afterFirst
        )

        let other = try work.coalition(
            "member",
            "transfer",
            "\(a)",
            "\(b)",
            "1100",
            "--idempotency-key",
            "k1",
            "--at",
            at,
            data: data
        )
        #expect(other.status == 1, "\(other)")
        #expect(other.stdout == "")
        #expect(other.stderr.contains("IDEMPOTENCY_CONFLICT"), "\(other)")
        #expect(other.stderr.contains("k1"))

        // The same answers as JSON.
        let replay = try object(
            work.coalition(
                "member",
                "transfer",
                "\(a)",
                "\(b)",
                "1000",
                "--idempotency-key",
                "k1",
                "--at",
                at,
                "--json",
                data: data
            )
        )
        #expect(replay["ok"] as? Bool == true)
        #expect(replay["replay"] as? Bool == true)
        #expect(replay["posting"] as? Int64 == lastSeq + 1)
        #expect(replay["points"] as? Int64 == 1_000)
        let limit = try work.coalition("member", "transfer", "\(a)", "\(b)", "999", "--at", at, "--json", data: data)
        #expect(limit.status == 1, "\(limit)")
        let refusal = try #require(try JSONSerialization.jsonObject(with: Data(limit.stdout.utf8)) as? [String: Any])
        #expect(refusal["ok"] as? Bool == false)
        #expect(refusal["code"] as? String == "TRANSFER_LIMIT_EXCEEDED")
        #expect((refusal["message"] as? String)?.hasPrefix("minimum:") == true)

        // Moved once, and the books still audit clean.
        let after = try openLedger(data)
        #expect(after.member(a)!.balance == balances.0 - 1_000)
        #expect(after.member(b)!.balance == balances.1 + 1_000)
        #expect(after.state.lastSeq == lastSeq + 1)
        #expect(try Audit.run(after).isClean)
    }

    @Test("member statement --json: opening plus movements is the closing, which is member show's balance")
    func statement() throws {
        let (work, data) = try demo()
        defer { work.remove() }
        let at = "2026-11-10T12:00:00Z"
        let (a, b) = try pair(data, at: time(at))
        #expect(try work.coalition("member", "transfer", "\(a)", "\(b)", "2000", "--at", at, data: data).status == 0)
        for member in [a, b] {
            let statement = try object(
                // To now, as member show: both leave out points dead by then.
                work.coalition("member", "statement", "\(member)", "--json", data: data)
            )
            let show = try object(work.coalition("member", "show", "\(member)", "--json", data: data))
            let closing = try #require(statement["closing"] as? Int64)
            #expect(closing == show["balance"] as? Int64)
            let movements = try #require(statement["movements"] as? [[String: Any]])
            let sum = movements.reduce(Int64(0)) { $0 + (($1["points"] as? Int64) ?? 0) }
            #expect((statement["opening"] as? Int64).map { $0 + sum } == closing)
            #expect(movements.last?["balance"] as? Int64 == closing)
            #expect(movements.contains { $0["kind"] as? String == "earn" })
            #expect(
                movements.contains { $0["kind"] as? String == (member == a ? "transfer out" : "transfer in") }
            )
            #expect(statement["tier"] as? String == show["tier"] as? String)
        }
        // From a day on, with the default end: whatever the date, it adds up.
        let part = try object(
            work.coalition("member", "statement", "\(a)", "--from", "2026-10-01", "--json", data: data)
        )
        let movements = try #require(part["movements"] as? [[String: Any]])
        let sum = movements.reduce(Int64(0)) { $0 + (($1["points"] as? Int64) ?? 0) }
        #expect((part["opening"] as? Int64).map { $0 + sum } == part["closing"] as? Int64)
        // The text form.
        let text = try work.coalition("member", "statement", "\(a)", "--to", "2026-12-31", data: data)
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout.hasPrefix("Statement of member \(a), "))
        #expect(text.stdout.contains("transfer out"))
        #expect(text.stdout.contains("  closing balance: "))
        // The default period starts at enrolment, not 1970.
        let enrolled = try #require(try openLedger(data).member(a)?.enrolledAt)
        #expect(text.stdout.hasPrefix("Statement of member \(a), \(enrolled.date) to 2026-12-31\n"), "\(text.stdout)")
        let backwards = try work.coalition(
            "member",
            "statement",
            "\(a)",
            "--from",
            "2026-12-01",
            "--to",
            "2026-11-01",
            data: data
        )
        #expect(backwards.status == 2, "\(backwards)")
        #expect(backwards.stderr.contains("USAGE"), "\(backwards)")
        // A transfer years before either member enrolled is refused with its code.
        let early = try work.coalition(
            "member",
            "transfer",
            "\(a)",
            "\(b)",
            "1000",
            "--at",
            "2001-01-01T00:00:00Z",
            data: data
        )
        #expect(early.status == 1, "\(early)")
        #expect(early.stderr.contains("EFFECTIVE_TIME_REFUSED"), "\(early)")
    }

    @Test("member show prints the tier, qualifying points and what the next tier needs")
    func show() throws {
        let (work, data) = try demo()
        defer { work.remove() }
        let ledger = try openLedger(data)
        let silver = try #require(ledger.state.members.values.filter { $0.tier == 1 }.min { $0.number < $1.number })
        let number = "\(silver.number)"
        let text = try work.coalition("member", "show", number, data: data)
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout.contains("  tier: Silver since \(silver.tierSince.date) (earn bonus 10%); "), "\(text)")
        #expect(text.stdout.contains(" qualifying points in the last 365 days\n"))
        #expect(text.stdout.contains("  next tier: Gold needs "))
        #expect(text.stdout.contains(" more qualifying points\n"))
        #expect(text.stdout.contains("Blue → Silver (upgrade: "), "\(text)")

        let json = try object(work.coalition("member", "show", number, "--json", data: data))
        #expect(json["tier"] as? String == "Silver")
        #expect(json["tierWindowDays"] as? Int64 == 365)
        let qualifying = try #require(json["qualifyingPoints"] as? Int64)
        let next = try #require(json["nextTier"] as? [String: Any])
        #expect(next["name"] as? String == "Gold")
        #expect(next["missing"] as? Int64 == max(0, 60_000 - qualifying))
        #expect(text.stdout.contains("  next tier: Gold needs \(Points.grouped(max(0, 60_000 - qualifying))) more"))
        let history = try #require(json["tierHistory"] as? [[String: Any]])
        #expect(history.first?["to"] as? String == "Silver")
        #expect((history.first?["reason"] as? String)?.hasPrefix("upgrade: ") == true)
    }

    @Test("tiers review and expire at the demo's date change nothing more; later dates do")
    func reviewAndExpire() throws {
        let (work, data) = try demo()
        defer { work.remove() }
        let ledgerPath = (data as NSString).appendingPathComponent("ledger.sqlite")
        let unchanged = try SQLiteStore(path: ledgerPath).contentDump()
        let review = try work.coalition("tiers", "review", "--as-of", "2026-11-10", data: data)
        #expect(review.status == 0, "\(review)")
        #expect(review.stdout.hasPrefix("Tier review as of 2026-11-10T00:00:00Z: 0 changes"), "\(review)")
        // A review that changes nothing writes nothing, not even an empty batch (issue 20).
        #expect(try SQLiteStore(path: ledgerPath).contentDump() == unchanged)

        let expire = try work.coalition("expire", "--as-of", "2026-11-10", data: data)
        #expect(expire.status == 0, "\(expire)")
        #expect(expire.stdout == "Expired 0 points in 0 lots of 0 members as of 2026-11-10T00:00:00Z\n")
        let expireJSON = try object(work.coalition("expire", "--as-of", "2026-11-10", "--json", data: data))
        #expect(expireJSON["points"] as? Int64 == 0)
        #expect(expireJSON["lots"] as? Int64 == 0)

        // A year and a half later every qualifying point has left the window: one tier down.
        let ledger = try openLedger(data)
        let silver = ledger.state.members.values.filter { $0.tier == 1 }.count
        #expect(silver > 0)
        let later = try object(work.coalition("tiers", "review", "--as-of", "2028-06-01", "--json", data: data))
        let changes = try #require(later["changes"] as? [[String: Any]])
        #expect(changes.count == silver)
        #expect(changes.allSatisfy { $0["from"] as? String == "Silver" && $0["to"] as? String == "Blue" })
        #expect(
            changes.allSatisfy {
                $0["reason"] as? String == "review: 0 qualifying points in 365 days (one-tier policy)"
            }
        )
        // And every point earned in the demo has expired by then.
        let held = ledger.state.members.values.reduce(Int64(0)) { $0 + $1.lots.reduce(0) { $0 + $1.points } }
        let all = try object(work.coalition("expire", "--as-of", "2028-06-01", "--json", data: data))
        #expect(all["points"] as? Int64 == held)
        let reopened = try openLedger(data)
        #expect(reopened.state.members.values.allSatisfy { $0.lots.isEmpty })
        #expect(try Audit.run(reopened).isClean)
    }

    @Test("report expiring lists the members whose points expire in the window; report liability shows breakage")
    func reports() throws {
        let (work, data) = try demo()
        defer { work.remove() }
        let ledger = try openLedger(data)
        let asOf = time("2026-11-10T00:00:00Z")
        let until = asOf.adding(days: 3650)
        var expected: [String: Int64] = [:]
        for account in ledger.state.members.values {
            let points = account.lots.filter { $0.expiresAt > asOf && $0.expiresAt <= until }.reduce(0) {
                $0 + $1.points
            }
            if points > 0 { expected["\(account.number)"] = points }
        }
        let expiring = try object(
            work.coalition("report", "expiring", "--within", "3650", "--as-of", "2026-11-10", "--json", data: data)
        )
        let rows = try #require(expiring["members"] as? [[String: Any]])
        #expect(!rows.isEmpty)
        #expect(rows.count == expected.count)
        var listed: [String: Int64] = [:]
        for row in rows { listed[row["member"] as? String ?? "?"] = row["points"] as? Int64 }
        #expect(listed == expected)
        let firsts = rows.compactMap { $0["firstExpiry"] as? String }
        #expect(firsts == firsts.sorted())
        #expect(firsts.count == rows.count)

        let liability = try object(work.coalition("report", "liability", "--json", data: data))
        let issuers = try #require(liability["issuers"] as? [[String: Any]])
        func breakage(_ id: String) -> Int64? { issuers.first { $0["issuer"] as? String == id }?["breakage"] as? Int64 }
        #expect((breakage("SKYWAYS") ?? 0) > 0)
        #expect((breakage("HARBOR") ?? 0) > 0)
        for id in ["SKYWAYS", "HARBOR", "MARKETPLACE", "ROADRUNNER"] {
            let partner = try PartnerID(id)
            #expect(breakage(id) == ledger.balance(of: AccountKey(Account.breakage(partner), Account.points)), "\(id)")
            let outstanding = issuers.first { $0["issuer"] as? String == id }?["pointsOutstanding"] as? Int64
            #expect(outstanding == ledger.outstanding(partner), "\(id)")
        }
    }
}
