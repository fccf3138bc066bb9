import CoalitionFiles
import CoalitionKit
import CoalitionSQLite
import Foundation
import Testing

/// The worked example of `docs/settlement-format.md` §11, ingested into a ledger set up as
/// the page says, must give the page's acknowledgement byte for byte.
@Suite("Settlement: the documented example, ingested")
struct DocExampleIngestTests {
    let sky = try! PartnerID("SKYWAYS")

    /// SKYWAYS with the test key SKYWAYS-TEST (valid from 2026-01-01) beside its demo keys;
    /// batches 1-6 already applied, member 6001000000150 enrolled with 3000 miles earned in
    /// batch 6.
    func documentedLedger(acknowledgementVersion: Int = 1) throws -> SettlementSandbox {
        let testKey = try SettlementDocument.testKey()
        let sandbox = try SettlementSandbox(
            extraKeys: [
                SettlementExtraKey(partner: "SKYWAYS", id: "SKYWAYS-TEST", validFrom: "2026-01-01", secret: testKey)
            ],
            acknowledgementVersions: acknowledgementVersion == 1 ? [:] : ["SKYWAYS": acknowledgementVersion]
        )
        let member150 = try MemberNumber("6001000000150")
        for sequence in Int64(1)...6 {
            let day = "2026-11-0\(sequence)"
            var records: [LedgerRecord] = []
            if sequence < 6 {
                records.append(
                    LedgerRecord(
                        key: try RecordKey(partner: sky, recordID: "SKY-000\(sequence)"),
                        occurredAt: SettlementTime.at("\(day)T08:00:00Z"),
                        body: .enroll(member: SettlementMembers.number(100 + Int(sequence)))
                    )
                )
            } else {
                records.append(
                    LedgerRecord(
                        key: try RecordKey(partner: sky, recordID: "SKY-0601"),
                        occurredAt: SettlementTime.at("\(day)T08:00:00Z"),
                        body: .enroll(member: member150)
                    )
                )
                records.append(
                    LedgerRecord(
                        key: try RecordKey(partner: sky, recordID: "SKY-0602"),
                        occurredAt: SettlementTime.at("\(day)T09:00:00Z"),
                        body: .earn(member: member150, units: 3000)
                    )
                )
            }
            let header = FileHeader(
                kind: .settlement,
                partner: sky,
                sequence: sequence,
                createdAt: SettlementTime.at("\(day)T12:00:00Z"),
                keyID: "SKYWAYS-2026A"
            )
            let path = sandbox.root + "/files/" + header.fileStem + ".csf"
            try SettlementFile.write(records, header: header, key: try sandbox.secret("SKYWAYS-2026A"), to: path)
            let result = try sandbox.ingestAccepted(path)
            #expect(result.summary?.rejected == 0)
        }
        #expect(sandbox.ledger.member(member150)?.balance == 1500)
        return sandbox
    }

    @Test("for a partner that reads version 2, the example gives the documented version 2 acknowledgement")
    func documentedAcknowledgementVersion2() throws {
        let sandbox = try documentedLedger(acknowledgementVersion: 2)
        let example = try SettlementDocument.block("example-settlement")
        let expected = try SettlementDocument.block("example-acknowledgement-v2")
        let path = try sandbox.file(example, name: "SKYWAYS-000007.csf")
        let result = try sandbox.ingest(path, now: SettlementTime.at("2026-11-22T22:31:29Z"))
        try #require(result.status == .accepted)
        let written = try SettlementAck.bytes(try #require(result.acknowledgement))
        #expect(written == expected, "\(String(decoding: written, as: UTF8.self))")
        // A replay, days later, is the same bytes.
        let replay = try sandbox.ingest(path, now: SettlementTime.at("2026-11-25T00:00:00Z"))
        #expect(try SettlementAck.bytes(try #require(replay.acknowledgement)) == expected)
    }

    @Test("the example gives the documented acknowledgement, byte for byte")
    func documentedAcknowledgement() throws {
        let sandbox = try documentedLedger()
        let example = try SettlementDocument.block("example-settlement")
        let expected = try SettlementDocument.block("example-acknowledgement")
        let path = try sandbox.file(example, name: "SKYWAYS-000007.csf")
        let result = try sandbox.ingest(path, now: SettlementTime.at("2026-11-22T22:31:29Z"))
        try #require(result.status == .accepted)
        let summary = try #require(result.summary)
        #expect(summary.records == 6)
        #expect(summary.accepted == 5)
        #expect(summary.rejected == 1)
        let ackPath = try #require(result.acknowledgement)
        #expect((ackPath as NSString).lastPathComponent == "SKYWAYS-000007.ack")

        // Every line but the header's created-at and the signature, which depend on `now`.
        let written = try SettlementAck.lines(ackPath)
        let documented = SettlementBytes.lines(expected).map { String(decoding: $0, as: UTF8.self) }
        try #require(written.count == documented.count, "\(written)")
        func headerWithoutTime(_ line: String) -> [Substring] {
            var fields = line.split(separator: "|", omittingEmptySubsequences: false)
            fields.remove(at: 6)
            return fields
        }
        #expect(headerWithoutTime(written[0]) == headerWithoutTime(documented[0]))
        #expect(Array(written.dropFirst().dropLast()) == Array(documented.dropFirst().dropLast()))
        #expect(written.last?.hasPrefix("S|") == true)
        // At the documented time of receipt, the whole file.
        #expect(try SettlementAck.bytes(ackPath) == expected)

        // What the ledger made of it, as §11 explains.
        let member093 = try MemberNumber("6001000000093")
        let member150 = try MemberNumber("6001000000150")
        // Typed: Swift Testing compares an optional with an untyped sum wrongly.
        let balance093: Int64 = 1200 - 501 - 200
        let balance150: Int64 = 1500 + 750
        #expect(sandbox.ledger.member(member093)?.balance == balance093)
        #expect(sandbox.ledger.member(member150)?.balance == balance150)
        let earn = try #require(try sandbox.ledger.record(RecordKey(partner: sky, recordID: "SKY-1002")))
        #expect(earn.units == 2400)
        #expect(earn.reversedUnits == 400)
        #expect(try sandbox.ledger.record(RecordKey(partner: sky, recordID: "SKY-1006")) == nil)
        let rejections = try sandbox.store.rejections(batch: summary.id)
        #expect(rejections.map(\.line) == [7])
        #expect(rejections.map(\.code) == [.badMemberNumber])
        #expect(try Audit.run(sandbox.ledger).isClean)
    }

    @Test("the example sent again is a duplicate answered with the same bytes, later too")
    func documentedReplay() throws {
        let sandbox = try documentedLedger()
        let example = try SettlementDocument.block("example-settlement")
        let expected = try SettlementDocument.block("example-acknowledgement")
        let path = try sandbox.file(example, name: "SKYWAYS-000007.csf")
        _ = try sandbox.ingestAccepted(path)
        let before = try sandbox.image
        let later = SettlementTime.now.adding(days: 3)
        let replay = try sandbox.ingest(path, now: later)
        #expect(replay.status == .duplicate)
        #expect(try SettlementAck.bytes(try #require(replay.acknowledgement)) == expected)
        try sandbox.expectUnchanged(since: before)
    }

    @Test("the example with a mistyped member number fixed in a later batch is applied")
    func correctedRecordInLaterBatch() throws {
        let sandbox = try documentedLedger()
        _ = try sandbox.ingestAccepted(
            try sandbox.file(try SettlementDocument.block("example-settlement"), name: "SKYWAYS-000007.csf")
        )
        // The rejected record's id is not used up: the partner resends it, corrected.
        let body = ["EARN|SKY-1006|6001000000093|500|2026-11-19T21:00:00Z|"]
        let path = try sandbox.skywaysFile(sequence: 8, body: body, createdAt: "2026-11-21T06:00:00Z")
        let result = try sandbox.ingestAccepted(path)
        let lines = try SettlementAck.lines(of: result)
        #expect(lines.contains("A|SKY-1006|250"))
        let balance: Int64 = 499 + 250
        #expect(sandbox.ledger.member(try MemberNumber("6001000000093"))?.balance == balance)
    }
}
