import CoalitionFiles
import CoalitionGeneration
import CoalitionKit
import Foundation
import Testing

/// The runbook of docs/operations.md, "A rejected file": a file rejected whole, what follows
/// from it, how the operator finds it all, and how the partners resubmit.
@Suite("Settlement: report rejected and the rejected-file runbook")
struct RejectedCommandTests {
    /// A HARBOR file: an enrolment of its own member, then an earn for each of `members`.
    func harbor(sequence: Int64, members: [MemberNumber], to path: String, firstRecord: Int = 0) throws {
        let partner = try PartnerID("HARBOR")
        let at = try Timestamp(parsing: "2026-11-19T10:00:00Z")
        var records = [
            LedgerRecord(
                key: try RecordKey(partner: partner, recordID: "H-\(firstRecord)"),
                occurredAt: at,
                body: .enroll(member: ActivityGenerator.memberNumber(900 + firstRecord))
            )
        ]
        for (index, member) in members.enumerated() {
            records.append(
                LedgerRecord(
                    key: try RecordKey(partner: partner, recordID: "H-\(firstRecord + index + 1)"),
                    occurredAt: at.adding(seconds: Int64(index + 1) * 60),
                    body: .earn(member: member, units: 300)
                )
            )
        }
        let header = FileHeader(
            kind: .settlement,
            partner: partner,
            sequence: sequence,
            createdAt: SettlementCommandFiles.now.adding(seconds: -60),
            keyID: "HARBOR-2026A"
        )
        try SettlementFile.write(
            records,
            header: header,
            key: try SettlementCommandFiles.demoKey("HARBOR-2026A"),
            to: path
        ) {
            "ref \($0.key.recordID)"
        }
    }

    func listing(_ result: SettlementCommandRunner.Result) throws -> [[String: Any]] {
        #expect(result.status == 0, "\(result)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return try #require(object?["rejections"] as? [[String: Any]], "\(result)")
    }

    @Test("a file under the wrong key, its cascade, the listing by partner, code and period, the resubmission")
    func cascade() throws {
        let cli = try SettlementCommandRunner()
        try cli.initialize()
        // SKYWAYS's first file (which enrols member 7) is signed with another partner's key.
        let member = ActivityGenerator.memberNumber(7)
        let wrongKey = cli.directory + "/SKYWAYS-000001.csf"
        try SettlementCommandFiles.skyways(
            sequence: 1,
            key: try SettlementCommandFiles.demoKey("HARBOR-2026A"),
            to: wrongKey
        )
        let first = try cli.coalition("submit", wrongKey)
        #expect(first.status == 1 && first.stdout.contains("BAD_SIGNATURE"), "\(first)")
        // Its next file has a gap before it; HARBOR's earns for member 7 find no member.
        let next = cli.directory + "/SKYWAYS-000002.csf"
        try SettlementCommandFiles.skyways(
            sequence: 2,
            key: try SettlementCommandFiles.demoKey("SKYWAYS-2026A"),
            to: next,
            firstRecord: 10
        )
        #expect(try cli.coalition("submit", next).stdout.contains("SEQUENCE_GAP"))
        let harborFile = cli.directory + "/HARBOR-000001.csf"
        try harbor(sequence: 1, members: [member, member], to: harborFile)
        let harborResult = try cli.coalition("submit", harborFile)
        #expect(harborResult.stdout.contains("3 records: 1 applied, 2 rejected"), "\(harborResult)")

        let all = try listing(try cli.coalition("report", "rejected", "--json"))
        #expect(all.count == 4, "\(all)")
        let files = all.filter { $0["wholeFile"] as? Bool == true }
        #expect(Set(files.compactMap { $0["code"] as? String }) == ["BAD_SIGNATURE", "SEQUENCE_GAP"])
        #expect(files.allSatisfy { $0["partner"] as? String == "SKYWAYS" })
        let records = all.filter { $0["wholeFile"] as? Bool == false }
        #expect(records.map { $0["recordID"] as? String } == ["H-1", "H-2"])
        #expect(
            records.allSatisfy { $0["code"] as? String == "UNKNOWN_MEMBER" && $0["partner"] as? String == "HARBOR" }
        )
        #expect(records.map { $0["line"] as? Int } == [3, 4])

        let harborOnly = try listing(
            try cli.coalition("report", "rejected", "--partner", "HARBOR", "--code", "unknown_member", "--json")
        )
        #expect(harborOnly.count == 2)
        #expect(try listing(try cli.coalition("report", "rejected", "--code", "SEQUENCE_GAP", "--json")).count == 1)
        let today = String(SettlementCommandFiles.now.description.prefix(10))
        let tomorrow = String(SettlementCommandFiles.now.adding(days: 1).description.prefix(10))
        #expect(
            try listing(try cli.coalition("report", "rejected", "--from", today, "--to", today, "--json")).count == 4
        )
        #expect(try listing(try cli.coalition("report", "rejected", "--from", tomorrow, "--json")).isEmpty)
        #expect(try listing(try cli.coalition("report", "rejected", "--to", "2020-01-01", "--json")).isEmpty)
        let text = try cli.coalition("report", "rejected", "--partner", "HARBOR")
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout.contains("H-1") && text.stdout.contains("UNKNOWN_MEMBER"), "\(text)")
        #expect(!text.stdout.contains("SEQUENCE_GAP"), "\(text)")

        // The runbook: SKYWAYS resends batch 1 correctly signed, then batch 2; HARBOR resends
        // the rejected records (their ids are not used up) in its next batch.
        let resent = cli.directory + "/SKYWAYS-000001-resent.csf"
        try SettlementCommandFiles.skyways(
            sequence: 1,
            key: try SettlementCommandFiles.demoKey("SKYWAYS-2026A"),
            to: resent
        )
        #expect(try cli.coalition("submit", resent).status == 0)
        #expect(try cli.coalition("submit", next).status == 0)
        let harborAgain = cli.directory + "/HARBOR-000002.csf"
        try harbor(sequence: 2, members: [member, member], to: harborAgain, firstRecord: 0)
        let again = try cli.coalition("submit", harborAgain)
        #expect(again.stdout.contains("2 applied, 1 rejected"), "the enrolment H-0 was applied already: \(again)")
        let member7 = try cli.coalition("member", "show", member.description, "--json")
        let balance = (try JSONSerialization.jsonObject(with: Data(member7.stdout.utf8)) as? [String: Any])?["balance"]
        #expect(balance as? Int64 ?? 0 > 0, "\(member7)")
    }
}
