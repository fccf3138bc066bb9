import CoalitionKit
import Foundation
import Testing

/// A network with referrals built through the command line: the demo partners under a
/// network.json with a referral programme, members enrolled with a code by signed files,
/// bonuses paid by their qualifying earns, one taken back.
@Suite("coalition: referrals end to end (enrolment with a code by file, the bonus, member show, report referrals)")
struct ReferralCommandTests {
    let partners = CommandRunner.partnersDirectory

    /// Members by a letter, with valid check digits.
    static func member(_ n: Int) -> String {
        let payload = "6001" + String(format: "%08d", 500 + n)
        var sum = 0
        for (index, character) in payload.reversed().enumerated() {
            var digit = Int(String(character))!
            if index % 2 == 0 {
                digit *= 2
                if digit > 9 { digit -= 9 }
            }
            sum += digit
        }
        return payload + String((10 - sum % 10) % 10)
    }

    let referrer = member(1)
    let referredB = member(2)
    let referredC = member(3)
    let referredD = member(4)

    /// A partners directory with the demo's partner files and keys, and a network.json with a
    /// referral programme: partner-funded bonuses until 2026-06-01, coalition-funded after,
    /// the coalition's points valued at 0.01 EUR.
    func makePartners(in work: WorkDirectory) throws -> String {
        let directory = work.file("partners")
        try FileManager.default.copyItem(atPath: partners, toPath: directory)
        let key = work.file("referral.key")
        try Data("# test key\n00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n".utf8).write(
            to: URL(fileURLWithPath: key)
        )
        let path = directory + "/network.json"
        var network = try #require(
            try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        )
        network["referrals"] =
            [
                "codeKeyFile": key, "perReferrerPerYear": 5, "clawbackDays": 60,
                "terms": [
                    [
                        "from": "2026-01-01", "referrerPoints": 500, "referredPoints": 250, "minimumEarnPoints": 100,
                        "funding": "earning-partner",
                    ],
                    [
                        "from": "2026-06-01", "referrerPoints": 1000, "referredPoints": 400, "minimumEarnPoints": 100,
                        "funding": "coalition",
                    ],
                ],
                "coalitionValue": ["currency": "EUR", "values": [["from": "2026-01-01", "valuePerPoint": "0.01"]]],
            ] as [String: Any]
        try JSONSerialization.data(withJSONObject: network).write(to: URL(fileURLWithPath: path))
        return directory
    }

    /// Writes `body` as `partner`'s file number `sequence` into the inbox, signs it with the
    /// partner's 2026 demo key and ingests it; every record must be accepted.
    func ingest(
        _ partner: String,
        _ sequence: Int,
        _ body: [String],
        work: WorkDirectory,
        data: String,
        directory: String
    ) throws {
        var counts: [String: (Int, Int)] = [:]
        for line in body {
            let fields = line.split(separator: "|", omittingEmptySubsequences: false)
            let amount = fields[0] == "ENROLL" ? 0 : Int(fields[3]) ?? 0
            let now = counts[String(fields[0])] ?? (0, 0)
            counts[String(fields[0])] = (now.0 + 1, now.1 + amount)
        }
        let totals = ["EARN", "REDEEM", "REVERSAL"].map { "\(counts[$0]?.0 ?? 0)|\(counts[$0]?.1 ?? 0)" }
        let trailer = "T|\(body.count)|\(counts["ENROLL"]?.0 ?? 0)|" + totals.joined(separator: "|")
        let header = "H|COALITION-SETTLEMENT|1|P2C|\(partner)|\(sequence)|2026-11-01T00:00:00Z|\(partner)-2026A"
        let target = work.file("data", "inbox", "\(partner)-\(sequence).csf")
        try Data(([header] + body + [trailer]).map { $0 + "\n" }.joined().utf8).write(
            to: URL(fileURLWithPath: target)
        )
        let sign = try work.coalition("sign", target, "--key", directory + "/keys/\(partner)-2026A.key")
        #expect(sign.status == 0, "\(sign)")
        let result = try work.coalition("ingest", data: data)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("accepted") && !result.stdout.contains("rejected:"), "\(result)")
    }

    func json(_ result: CommandRunner.Result, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any]
    {
        #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
        return try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
            sourceLocation: sourceLocation
        )
    }

    @Test("bonuses paid, one taken back: member show names them; report referrals counts and costs them")
    func referralsEndToEnd() throws {
        let work = try WorkDirectory()
        defer { work.remove() }
        let directory = try makePartners(in: work)
        let data = work.file("data")
        let made = try work.coalition("init", "--partners", directory, data: data)
        #expect(made.status == 0, "\(made)")
        try ingest(
            "SKYWAYS",
            1,
            ["ENROLL|SKY-E1|\(referrer)|2026-04-01T10:00:00Z|signup"],
            work: work,
            data: data,
            directory: directory
        )
        let code = try #require(
            try json(try work.coalition("member", "show", referrer, "--json", data: data))["referralCode"] as? String
        )
        // B: a 50-point earn does not qualify, the 500-point one pays 250 + 500 SKYWAYS points.
        // C (coalition terms): the bonus is paid, then its earn reversed in full: taken back.
        try ingest(
            "SKYWAYS",
            2,
            [
                "ENROLL|SKY-E2|\(referredB)|2026-04-02T10:00:00Z|signup|\(code)",
                "EARN|SKY-P2|\(referredB)|100|2026-04-03T10:00:00Z|small",
                "EARN|SKY-P3|\(referredB)|1000|2026-04-05T10:00:00Z|flight",
                "ENROLL|SKY-E4|\(referredC)|2026-07-01T10:00:00Z|signup|\(code.lowercased())",
                "EARN|SKY-P4|\(referredC)|400|2026-07-02T10:00:00Z|flight",
                "REVERSAL|SKY-R4|SKY-P4|400|2026-07-10T10:00:00Z|cancelled",
            ],
            work: work,
            data: data,
            directory: directory
        )
        // D at the hotel: 900 HPT are 300 points, coalition-funded 400 + 1,000.
        try ingest(
            "HARBOR",
            1,
            [
                "ENROLL|HAR-E5|\(referredD)|2026-08-01T10:00:00Z|signup|\(code)",
                "EARN|HAR-P5|\(referredD)|900|2026-08-02T10:00:00Z|stay",
            ],
            work: work,
            data: data,
            directory: directory
        )

        let showB = try work.coalition("member", "show", referredB, "--at", "2026-09-01T00:00:00Z", data: data)
        #expect(showB.status == 0, "\(showB)")
        #expect(showB.stdout.contains("referred by member \(referrer)"), "\(showB)")
        #expect(
            showB.stdout.contains(
                "referral bonus: 250 points from SKYWAYS on 2026-04-05, for enrolling with member \(referrer)'s code"
            ),
            "\(showB)"
        )
        #expect(showB.stdout.contains("SKYWAYS (referral bonus)"), "\(showB)")
        #expect(showB.stdout.contains("balance: 800 points"), "\(showB)")
        let showA = try work.coalition("member", "show", referrer, "--at", "2026-09-01T00:00:00Z", data: data)
        #expect(
            showA.stdout.contains(
                "referral bonus: 500 points from SKYWAYS on 2026-04-05, for referring member \(referredB)"
            )
        )
        #expect(
            showA.stdout.contains(
                "referral bonus: 1,000 points from COALITION on 2026-07-02, for referring member \(referredC) (taken back)"
            ),
            "\(showA)"
        )
        #expect(
            showA.stdout.contains(
                "referral bonus: 1,000 points from COALITION on 2026-08-02, for referring member \(referredD)"
            )
        )
        #expect(showA.stdout.contains("balance: 1,500 points"), "\(showA)")
        let shownA = try json(try work.coalition("member", "show", referrer, "--json", data: data))
        let bonuses = try #require(shownA["referralBonuses"] as? [[String: Any]])
        #expect(bonuses.map { $0["points"] as? Int } == [500, 1000, 1000])
        #expect(bonuses.map { $0["takenBack"] as? Bool } == [false, true, false])
        #expect(bonuses.map { $0["role"] as? String } == ["referrer", "referrer", "referrer"])

        let text = try work.coalition("report", "referrals", data: data)
        #expect(text.status == 0, "\(text)")
        let rows = text.stdout.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
        // month, issuer, referrals, bonuses, points paid, taken back, net points, net cost
        #expect(rows.contains("2026-04 SKYWAYS 1 1 750 0 750 9.00 USD"), "\(text)")
        #expect(rows.contains("2026-07 COALITION 0 1 1,400 1,400 0 0.00 EUR"), "\(text)")
        #expect(rows.contains("2026-07 SKYWAYS 1 0 0 0 0 0.00 USD"), "\(text)")
        #expect(rows.contains("2026-08 COALITION 0 1 1,400 0 1,400 14.00 EUR"), "\(text)")
        #expect(rows.contains("2026-08 HARBOR 1 0 0 0 0 0.00 EUR"), "\(text)")
        #expect(rows.contains("COALITION 0 2 2,800 1,400 1,400 14.00 EUR"), "\(text)")
        #expect(rows.contains("SKYWAYS 2 1 750 0 750 9.00 USD"), "\(text)")

        let report = try json(try work.coalition("report", "referrals", "--json", data: data))
        let lines = try #require(report["lines"] as? [[String: Any]])
        #expect(lines.count == 5)
        #expect(lines.reduce(0) { $0 + ($1["referrals"] as? Int ?? 0) } == 3)
        #expect(lines.reduce(0) { $0 + ($1["bonusesPaid"] as? Int ?? 0) } == 3)
        let totals = try #require(report["totals"] as? [[String: Any]])
        let coalition = try #require(totals.first { $0["issuer"] as? String == "COALITION" })
        #expect(coalition["month"] as? String == "all")
        #expect(coalition["pointsPaid"] as? Int == 2800 && coalition["pointsTakenBack"] as? Int == 1400)
        #expect(coalition["bonusesTakenBack"] as? Int == 1 && coalition["netPoints"] as? Int == 1400)
        let cost = try #require(coalition["netCost"] as? [String: Any])
        #expect(cost["currency"] as? String == "EUR" && cost["amountMinor"] as? Int == 1400)
        let paid = try #require(coalition["costPaid"] as? [String: Any])
        #expect(paid["amountMinor"] as? Int == 2800)
        let skyways = try #require(totals.first { $0["issuer"] as? String == "SKYWAYS" })
        let skywaysCost = try #require(skyways["netCost"] as? [String: Any])
        #expect(skywaysCost["currency"] as? String == "USD" && skywaysCost["amountMinor"] as? Int == 900)

        // The coalition's outstanding points (D's 400 and A's 1,000) valued at 0.01 EUR.
        let liability = try json(try work.coalition("report", "liability", "--json", data: data))
        let issuers = try #require(liability["issuers"] as? [[String: Any]])
        let line = try #require(issuers.first { $0["issuer"] as? String == "COALITION" })
        #expect(line["pointsOutstanding"] as? Int == 1400)
        let value = try #require(line["value"] as? [String: Any])
        #expect(value["currency"] as? String == "EUR" && value["amountMinor"] as? Int == 1400)
        let audit = try work.coalition("audit", data: data)
        #expect(audit.status == 0, "\(audit)")
    }
}
