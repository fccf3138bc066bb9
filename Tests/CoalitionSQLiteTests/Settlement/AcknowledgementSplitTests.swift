import CoalitionFiles
import CoalitionKit
import CoalitionSQLite
import Foundation
import Testing

@Suite("Acknowledgements, version 2: the issuer split and the obligations of every redemption and reversal")
struct AcknowledgementSplitTests {
    let sky = try! PartnerID("SKYWAYS")
    let harbor = try! PartnerID("HARBOR")
    let market = try! PartnerID("MARKETPLACE")

    /// A member who holds SKYWAYS and MARKETPLACE points; then HARBOR's file earns, redeems
    /// across brands, reverses part of the redemption and its own earn in full.
    func harborFile(_ sandbox: SettlementSandbox) throws -> String {
        let member = SettlementMembers.number(7)
        func record(_ partner: PartnerID, _ id: String, _ at: String, _ body: LedgerRecord.Body) throws -> LedgerRecord
        {
            LedgerRecord(
                key: try RecordKey(partner: partner, recordID: id),
                occurredAt: SettlementTime.at(at),
                body: body
            )
        }
        _ = try sandbox.ledger.apply(
            [
                try record(sky, "S-1", "2026-11-01T08:00:00Z", .enroll(member: member)),
                try record(sky, "S-2", "2026-11-02T08:00:00Z", .earn(member: member, units: 4_000)),  // 2,000
                try record(market, "M-1", "2026-11-03T08:00:00Z", .earn(member: member, units: 150_000)),  // 1,500
            ],
            info: BatchInfo(source: "setup", receivedAt: SettlementTime.now)
        )
        let records = [
            try record(harbor, "H-0", "2026-11-19T08:00:00Z", .earn(member: member, units: 3_000)),  // 1,000
            try record(harbor, "H-1", "2026-11-19T09:00:00Z", .redeem(member: member, units: 12_000)),  // 4,000
            try record(harbor, "H-2", "2026-11-19T10:00:00Z", .reverse(original: "H-1", units: 4_500)),  // 1,500 back
            try record(harbor, "H-3", "2026-11-19T11:00:00Z", .reverse(original: "H-0", units: nil)),
        ]
        let header = FileHeader(
            kind: .settlement,
            partner: harbor,
            sequence: 1,
            createdAt: SettlementTime.at(SettlementTime.createdAt),
            keyID: "HARBOR-2026A"
        )
        let path = sandbox.root + "/files/" + header.fileStem + ".csf"
        try SettlementFile.write(records, header: header, key: try sandbox.secret("HARBOR-2026A"), to: path)
        return path
    }

    @Test("HARBOR books its payables and receivables from its acknowledgement alone, before any cycle")
    func bookedFromTheAcknowledgement() throws {
        let sandbox = try SettlementSandbox(acknowledgementVersions: ["HARBOR": 2])
        let path = try harborFile(sandbox)
        let result = try sandbox.ingestAccepted(path)
        let lines = try SettlementAck.lines(of: result)
        #expect(lines.first?.hasPrefix("H|COALITION-ACK|2|C2P|HARBOR|1|") == true)
        let fields = lines.map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
        let points = Dictionary(uniqueKeysWithValues: fields.filter { $0[0] == "A" }.map { ($0[1], Int64($0[2])!) })
        #expect(points.count == 4)
        // The split of a redemption and of its reversal adds up to the points they moved.
        for id in ["H-1", "H-2"] {
            let split = fields.filter { $0[0] == "I" && $0[1] == id }
            #expect(split.count >= 2, "\(id): \(lines)")
            #expect(split.reduce(0) { $0 + Int64($1[3])! } == points[id], "\(id)")
        }
        #expect(fields.contains { $0[0] == "I" && $0[1] == "H-3" })
        // The O lines are exactly the ledger's obligations of each record.
        let obligations = try sandbox.store.obligations(openOnly: false).filter { $0.source.partner == harbor }
        #expect(obligations.count >= 3)
        for id in ["H-0", "H-1", "H-2", "H-3"] {
            let ledger = obligations.filter { $0.source.recordID == id }.map {
                "\($0.debtor)|\($0.creditor)|\($0.points)|\($0.amount)|\($0.currency.code)"
            }
            let ack = fields.filter { $0[0] == "O" && $0[1] == id }.map { $0.dropFirst(2).joined(separator: "|") }
            #expect(ack == ledger, "\(id)")
        }
        #expect(
            try FileSigning.verify(
                path: try #require(result.acknowledgement),
                kinds: [.acknowledgement],
                key: try sandbox.secret("HARBOR-2026A")
            ).partner == harbor
        )
        // A replay answers with the same bytes.
        let first = try SettlementAck.bytes(try #require(result.acknowledgement))
        let replay = try sandbox.ingest(path, now: SettlementTime.now.adding(days: 2))
        #expect(replay.status == .duplicate)
        #expect(try SettlementAck.bytes(try #require(replay.acknowledgement)) == first)
    }

    @Test("a partner that did not ask for version 2 gets version 1, without I or O lines")
    func versionOneUnchanged() throws {
        let sandbox = try SettlementSandbox()
        let result = try sandbox.ingestAccepted(try harborFile(sandbox))
        let lines = try SettlementAck.lines(of: result)
        #expect(lines.first?.hasPrefix("H|COALITION-ACK|1|C2P|HARBOR|1|") == true)
        #expect(!lines.contains { $0.hasPrefix("I|") || $0.hasPrefix("O|") || $0.hasPrefix("DEBT|") })
    }

    @Test("an earn reversal that leaves a debt says so: its I and DEBT lines add up to its points")
    func debtInTheAcknowledgement() throws {
        let sandbox = try SettlementSandbox(acknowledgementVersions: ["HARBOR": 2, "SKYWAYS": 2])
        let member = SettlementMembers.number(7)
        func record(_ partner: PartnerID, _ id: String, _ at: String, _ body: LedgerRecord.Body) throws -> LedgerRecord
        {
            LedgerRecord(
                key: try RecordKey(partner: partner, recordID: id),
                occurredAt: SettlementTime.at(at),
                body: body
            )
        }
        _ = try sandbox.ledger.apply(
            [
                try record(sky, "S-1", "2026-11-01T08:00:00Z", .enroll(member: member)),
                try record(sky, "S-2", "2026-11-02T08:00:00Z", .earn(member: member, units: 4_000)),  // 2,000
            ],
            info: BatchInfo(source: "setup", receivedAt: SettlementTime.now)
        )
        let records = [
            try record(harbor, "H-0", "2026-11-19T08:00:00Z", .earn(member: member, units: 3_000)),  // 750 (1/4 a HPT)
            try record(harbor, "H-1", "2026-11-19T09:00:00Z", .redeem(member: member, units: 11_000)),  // all 2,750
            try record(harbor, "H-2", "2026-11-19T10:00:00Z", .earn(member: member, units: 800)),  // 200
        ]
        let header = FileHeader(
            kind: .settlement,
            partner: harbor,
            sequence: 1,
            createdAt: SettlementTime.at(SettlementTime.createdAt),
            keyID: "HARBOR-2026A"
        )
        let path = sandbox.root + "/files/" + header.fileStem + ".csf"
        try SettlementFile.write(records, header: header, key: try sandbox.secret("HARBOR-2026A"), to: path)
        _ = try sandbox.ingestAccepted(path)
        // MARKETPLACE's 300 points arrive; then HARBOR reverses H-0 (750): its lot is spent,
        // so 200 come from H-2's lot and 300 from MARKETPLACE's, and 250 become a debt.
        _ = try sandbox.ledger.apply(
            [try record(market, "M-1", "2026-11-19T11:00:00Z", .earn(member: member, units: 30_000))],  // 300
            info: BatchInfo(source: "setup", receivedAt: SettlementTime.now)
        )
        let second = FileHeader(
            kind: .settlement,
            partner: harbor,
            sequence: 2,
            createdAt: SettlementTime.at(SettlementTime.createdAt),
            keyID: "HARBOR-2026A"
        )
        let secondPath = sandbox.root + "/files/" + second.fileStem + ".csf"
        try SettlementFile.write(
            [try record(harbor, "H-3", "2026-11-19T12:00:00Z", .reverse(original: "H-0", units: nil))],
            header: second,
            key: try sandbox.secret("HARBOR-2026A"),
            to: secondPath
        )
        let result = try sandbox.ingestAccepted(secondPath)
        let lines = try SettlementAck.lines(of: result)
        let fields = lines.map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
        let points = try #require(fields.first { $0[0] == "A" && $0[1] == "H-3" }.flatMap { Int64($0[2]) })
        #expect(points == -750)
        let split = fields.filter { $0[0] == "I" && $0[1] == "H-3" }
        let debts = fields.filter { $0[0] == "DEBT" && $0[1] == "H-3" }
        #expect(debts.map { $0.dropFirst(2).joined(separator: "|") } == ["HARBOR|-250"], "\(lines)")
        let owed = try #require(debts.first.flatMap { Int64($0[3]) })
        #expect(split.reduce(0) { $0 + Int64($1[3])! } + owed == points, "\(lines)")
        // What the ledger holds: the member owes HARBOR the 250 points.
        let account = try #require(sandbox.ledger.member(member))
        #expect(account.debts.map(\.points) == [-250])
        #expect(account.debts.allSatisfy { $0.issuer == harbor })
        // SKYWAYS later brings 1,000 points: 250 repay the debt, an obligation SKYWAYS → HARBOR
        // for the DEBT line's points, valued then.
        _ = try sandbox.ledger.apply(
            [try record(sky, "S-3", "2026-11-20T08:00:00Z", .earn(member: member, units: 2_000))],
            info: BatchInfo(source: "setup", receivedAt: SettlementTime.now)
        )
        let repaid = try sandbox.store.obligations(openOnly: false).filter { $0.source.recordID == "S-3" }
        #expect(repaid.map(\.points) == [250])
        #expect(repaid.allSatisfy { $0.debtor == sky && $0.creditor == harbor })
    }
}
