import CoalitionFiles
import CoalitionKit
import CoalitionSQLite
import CoalitionTestSupport
import Foundation
import Testing

/// A record fault rejects that record alone: every other record of the file is applied, and
/// the acknowledgement names the record's line, id and code.
@Suite("Settlement: record faults")
struct RecordFaultTests {
    static let m1 = SettlementScenario.m1
    static let time = "2026-11-19T12:00:00Z"

    /// One faulty line between two good ones.
    struct Case: Sendable, CustomTestStringConvertible {
        let line: String
        let code: ReasonCode
        /// The record id the R line names (empty when the id itself is not valid).
        let recordID: String

        init(_ line: String, _ code: ReasonCode, id recordID: String = "F-1") {
            self.line = line
            self.code = code
            self.recordID = recordID
        }

        var testDescription: String { "\(code): \(line)" }
    }

    static let cases: [Case] = [
        // Amounts: zero, negative, over 10^12, over 18 digits, leading zero, not digits, empty.
        Case("EARN|F-1|\(m1)|0|\(time)|", .badAmount),
        Case("EARN|F-1|\(m1)|-5|\(time)|", .badAmount),
        Case("REDEEM|F-1|\(m1)|-5|\(time)|", .badAmount),
        Case("EARN|F-1|\(m1)|1000000000001|\(time)|", .badAmount),
        Case("EARN|F-1|\(m1)|999999999999999999|\(time)|", .badAmount),
        Case("EARN|F-1|\(m1)|1234567890123456789|\(time)|", .badAmount),
        Case("EARN|F-1|\(m1)|0100|\(time)|", .badAmount),
        Case("EARN|F-1|\(m1)|1e3|\(time)|", .badAmount),
        Case("EARN|F-1|\(m1)||\(time)|", .badAmount),
        Case("REVERSAL|F-1|S1-03|0|\(time)|", .badAmount),
        Case("REVERSAL|F-1|S1-03|-1|\(time)|", .badAmount),
        // Types and shapes.
        Case("BONUS|F-1|\(m1)|100|\(time)|", .unknownRecordType),
        Case("earn|F-1|\(m1)|100|\(time)|", .unknownRecordType),
        Case("", .unknownRecordType, id: ""),
        Case("EARN|F-1|\(m1)|100|\(time)", .malformedRecord),
        Case("EARN|F-1|\(m1)|100|\(time)||", .malformedRecord),
        // An ENROLL has five fields, or six with a referral code (docs/settlement-format.md §4).
        Case("ENROLL|F-1|\(SettlementMembers.number(50))|\(time)|x|y|z", .malformedRecord),
        Case("ENROLL|F-1|\(SettlementMembers.number(50))|\(time)|x|y", .badReferralCode),
        Case("EARN|F-1|\(m1)|100|\(time)|" + String(repeating: "r", count: 257), .malformedRecord),
        Case("EARN|F-1|\(m1)|100|\(time)|50%G1 off", .malformedRecord),
        Case("EARN|F-1|\(m1)|100|\(time)|50%", .malformedRecord),
        Case("EARN|F-1|\(m1)|100|\(time)|50%4", .malformedRecord),
        Case("EARN||\(m1)|100|\(time)|", .badRecordID, id: ""),
        Case("EARN|\(String(repeating: "k", count: 65))|\(m1)|100|\(time)|", .badRecordID, id: ""),
        Case("EARN|F 1|\(m1)|100|\(time)|", .badRecordID, id: ""),
        Case("REVERSAL|F-1|S1 03||\(time)|", .badRecordID),
        // Members.
        Case("EARN|F-1|6001000000094|100|\(time)|", .badMemberNumber),
        Case("EARN|F-1|1234567|100|\(time)|", .badMemberNumber),
        Case("EARN|F-1|0600100000001|100|\(time)|", .badMemberNumber),
        Case("EARN|F-1|6001 0000 0009 3|100|\(time)|", .badMemberNumber),
        Case("ENROLL|F-1|\(m1)|\(time)|", .memberExists),
        Case("EARN|F-1|\(SettlementMembers.number(50))|100|\(time)|", .unknownMember),
        Case("REDEEM|F-1|\(m1)|100000|\(time)|", .insufficientPoints),
        // Times.
        Case("EARN|F-1|\(m1)|100|2026-02-30T10:00:00Z|", .badTime),
        Case("EARN|F-1|\(m1)|100|2026-11-19T24:00:00Z|", .badTime),
        Case("EARN|F-1|\(m1)|100|2026-11-19T10:00:60Z|", .badTime),
        Case("EARN|F-1|\(m1)|100|2026-11-19T10:00:00|", .badTime),
        Case("EARN|F-1|\(m1)|100|2026-11-19 10:00:00Z|", .badTime),
        Case("EARN|F-1|\(m1)|100|2024-06-01T10:00:00Z|", .rateNotInForce),
        // Record ids used before: in this file (line 2), or in batch 1.
        Case("EARN|OK-1|\(m1)|100|\(time)|", .duplicateRecord, id: "OK-1"),
        Case("EARN|S1-03|\(m1)|100|\(time)|", .duplicateRecord, id: "S1-03"),
        Case("ENROLL|S1-01|\(SettlementMembers.number(50))|\(time)|", .duplicateRecord, id: "S1-01"),
        // Reversals.
        Case("REVERSAL|F-1|S1-99||\(time)|", .unknownOriginal),
        Case("REVERSAL|F-1|OK-9||\(time)|", .unknownOriginal),
        Case("REVERSAL|F-1|S1-05||\(time)|", .notReversible),
        Case("REVERSAL|F-1|S1-01||\(time)|", .notReversible),
        Case("REVERSAL|F-1|S1-04|1|\(time)|", .alreadyReversed),
        Case("REVERSAL|F-1|S1-03|3601|\(time)|", .reversalExceedsOriginal),
    ]

    /// Batch 1 of the scenario plus a partial reversal (S1-05 of S1-03, 400 of its 4000
    /// miles) and a full one (S1-06 of S1-04), so reversals have something to refer to.
    func sandbox() throws -> SettlementSandbox {
        let sandbox = try SettlementScenario.afterBatchOne()
        let path = try sandbox.skywaysFile(
            sequence: 2,
            body: [
                "REVERSAL|S1-05|S1-03|400|2026-11-18T10:00:00Z|partial",
                "REVERSAL|S1-06|S1-04||2026-11-18T11:00:00Z|full",
            ],
            createdAt: "2026-11-18T12:30:00Z"
        )
        let result = try sandbox.ingestAccepted(path)
        #expect(result.summary?.accepted == 2)
        return sandbox
    }

    @Test("one faulty record is rejected, the others are applied", arguments: cases)
    func faultyRecord(_ fault: Case) throws {
        let sandbox = try sandbox()
        let m1 = try MemberNumber(Self.m1)
        let body = [
            "EARN|OK-1|\(Self.m1)|1000|2026-11-19T09:00:00Z|before",
            fault.line,
            "REDEEM|OK-2|\(Self.m1)|200|2026-11-19T13:00:00Z|after",
        ]
        let path = try sandbox.skywaysFile(sequence: 3, body: body)
        let before = try sandbox.image
        let balance = try #require(sandbox.ledger.member(m1)?.balance)
        let result = try sandbox.ingestAccepted(path)
        let summary = try #require(result.summary)
        #expect(summary.records == 3)
        #expect(summary.accepted == 2)
        #expect(summary.rejected == 1)

        let lines = try SettlementAck.lines(of: result)
        try #require(lines.count == 7, "\(lines)")
        #expect(lines[0].hasPrefix("H|COALITION-ACK|1|C2P|SKYWAYS|3|2026-11-22T22:31:29Z|SKYWAYS-2026A"))
        #expect(
            lines[1] == "REF|" + String(decoding: try SettlementAck.bytes(path).suffix(65).prefix(64), as: UTF8.self)
        )
        #expect(lines[2] == "A|OK-1|500")
        #expect(lines[3] == "A|OK-2|-100")
        #expect(lines[4].hasPrefix("R|3|\(fault.recordID)|\(fault.code)|"), "\(lines[4])")
        #expect(lines[5] == "T|3|2|1|500|100")
        #expect(lines[6].hasPrefix("S|"))

        // The good records are applied, the faulty one left no trace.
        let state = sandbox.ledger.state
        let sky = try PartnerID("SKYWAYS")
        #expect(state.records.count == before.records.count + 2)
        for id in ["OK-1", "OK-2"] {
            #expect(try sandbox.ledger.record(RecordKey(partner: sky, recordID: id))?.reversedUnits == 0, "\(id)")
        }
        // The faulty record is not in the journal (a duplicate's id is, as the original's).
        if fault.code != .duplicateRecord, let faultKey = try? RecordKey(partner: sky, recordID: fault.recordID) {
            #expect(try sandbox.ledger.record(faultKey) == nil)
        }
        #expect(sandbox.ledger.member(m1)?.balance == balance + 500 - 100)
        #expect(Set(state.members.keys) == Set(before.members.keys))
        #expect(state.lastSeq == before.lastSeq + 2)
        let rejections = try sandbox.store.rejections(batch: summary.id)
        #expect(rejections.count == 1)
        #expect(rejections.first?.line == 3)
        #expect(rejections.first?.recordID == fault.recordID)
        #expect(rejections.first?.code == fault.code)
        #expect(try Audit.run(sandbox.ledger).isClean)
    }

    /// A record's fields are quoted in its R line's message: however long the field (up to
    /// what fits in a 1024-byte line), the acknowledgement keeps every line within 1024 bytes
    /// and the file is answered record by record.
    /// A record line with one field made long.
    struct LongField: Sendable, CustomTestStringConvertible {
        let name: String
        let line: String
        var testDescription: String { name }
    }

    static let longFields: [LongField] = [
        LongField(name: "time, digits", line: "EARN|F-1|\(m1)|100|\(String(repeating: "9", count: 985))|"),
        LongField(name: "time, escaped", line: "EARN|F-1|\(m1)|100|\(String(repeating: "%", count: 900))|"),
        LongField(name: "record id", line: "EARN|\(String(repeating: "k", count: 960))|\(m1)|100|\(time)|"),
        LongField(name: "record id, escaped", line: "EARN|\(String(repeating: "%", count: 900))|\(m1)|100|\(time)|"),
        LongField(name: "original", line: "REVERSAL|F-1|\(String(repeating: "%", count: 900))||\(time)|"),
        LongField(name: "type", line: "\(String(repeating: "%", count: 900))|F-1|\(m1)|100|\(time)|"),
        LongField(name: "member", line: "EARN|F-1|\(String(repeating: "%", count: 900))|100|\(time)|"),
        LongField(name: "amount", line: "EARN|F-1|\(m1)|\(String(repeating: "%", count: 900))|\(time)|"),
    ]

    /// A record's fields are quoted in its R line's message: however long the field (up to
    /// what fits in a 1024-byte line), the acknowledgement keeps every line within 1024 bytes
    /// and the file is answered record by record.
    @Test("long faulty fields keep the acknowledgement's lines within 1024 bytes", arguments: longFields)
    func longFaultyField(_ field: LongField) throws {
        let line = field.line
        let sandbox = try sandbox()
        let body = ["EARN|OK-1|\(Self.m1)|1000|2026-11-19T09:00:00Z|", line]
        try #require(line.utf8.count <= 1024)
        let result = try sandbox.ingest(try sandbox.skywaysFile(sequence: 3, body: body))
        try #require(result.status == .accepted, "\(result.status)")
        let path = try #require(result.acknowledgement)
        let lines = try SettlementAck.lines(path)
        #expect(lines.allSatisfy { $0.utf8.count <= 1024 }, "\(lines.map(\.utf8.count))")
        #expect(lines[2] == "A|OK-1|500")
        #expect(lines[3].hasPrefix("R|3|"))
        let key = try sandbox.secret("SKYWAYS-2026A")
        #expect(throws: Never.self) { try FileSigning.verify(path: path, kinds: [.acknowledgement], key: key) }
    }

    @Test("the first of two records with one id applies; a rejected record's id is not used up")
    func duplicateInsideOneFile() throws {
        let sandbox = try sandbox()
        let body = [
            "EARN|D-1|\(Self.m1)|0|\(Self.time)|rejected: zero",
            "EARN|D-1|\(Self.m1)|100|\(Self.time)|applied",
            "EARN|D-1|\(Self.m1)|300|\(Self.time)|duplicate",
            "REDEEM|D-2|\(Self.m1)|20|\(Self.time)|",
            "REDEEM|D-2|\(Self.m1)|20|\(Self.time)|",
        ]
        let result = try sandbox.ingestAccepted(try sandbox.skywaysFile(sequence: 3, body: body))
        let lines = try SettlementAck.lines(of: result)
        #expect(lines[2...3] == ["A|D-1|50", "A|D-2|-10"])
        #expect(lines[4].hasPrefix("R|2|D-1|BAD_AMOUNT|"))
        #expect(lines[5].hasPrefix("R|4|D-1|DUPLICATE_RECORD|"))
        #expect(lines[6].hasPrefix("R|6|D-2|DUPLICATE_RECORD|"))
        #expect(lines[7] == "T|5|2|3|50|10")
    }

    @Test("a record id of batch 2 sent again in batch 3 is DUPLICATE_RECORD")
    func duplicateAcrossFiles() throws {
        let sandbox = try sandbox()
        let first = ["EARN|X-1|\(Self.m1)|100|\(Self.time)|", "EARN|X-2|\(Self.m1)|100|\(Self.time)|"]
        try sandbox.ingestAccepted(try sandbox.skywaysFile(sequence: 3, body: first))
        let before = try #require(sandbox.ledger.member(try MemberNumber(Self.m1))?.balance)
        let second = ["EARN|X-3|\(Self.m1)|100|\(Self.time)|", "EARN|X-2|\(Self.m1)|999|\(Self.time)|"]
        let result = try sandbox.ingestAccepted(try sandbox.skywaysFile(sequence: 4, body: second))
        let lines = try SettlementAck.lines(of: result)
        #expect(lines[2] == "A|X-3|50")
        #expect(lines[3].hasPrefix("R|3|X-2|DUPLICATE_RECORD|"))
        #expect(sandbox.ledger.member(try MemberNumber(Self.m1))?.balance == before + 50)
    }

    @Test("a reversal of a reversal is NOT_REVERSIBLE, within one file too")
    func reversalOfReversal() throws {
        let sandbox = try sandbox()
        let body = [
            "EARN|V-1|\(Self.m1)|1000|\(Self.time)|",
            "REVERSAL|V-2|V-1|200|\(Self.time)|",
            "REVERSAL|V-3|V-2||\(Self.time)|",
            "REVERSAL|V-4|S1-05|400|\(Self.time)|",
        ]
        let result = try sandbox.ingestAccepted(try sandbox.skywaysFile(sequence: 3, body: body))
        let lines = try SettlementAck.lines(of: result)
        #expect(lines[2...3] == ["A|V-1|500", "A|V-2|-100"])
        #expect(lines[4].hasPrefix("R|4|V-3|NOT_REVERSIBLE|"))
        #expect(lines[5].hasPrefix("R|5|V-4|NOT_REVERSIBLE|"))
        let entry = try sandbox.ledger.record(RecordKey(partner: PartnerID("SKYWAYS"), recordID: "V-2"))
        #expect(entry?.reversedUnits == 0)
    }

    @Test("every kind of record fault in one file, across chunks, in line order")
    func manyFaultsAcrossChunks() throws {
        let sandbox = try sandbox()
        var body: [String] = []
        var expectedR: [String] = []
        var accepted = 0
        for (index, fault) in Self.cases.enumerated() where !fault.line.contains("OK-") {
            body.append("EARN|G-\(index)|\(Self.m1)|10|\(Self.time)|good")
            accepted += 1
            body.append(fault.line.replacingOccurrences(of: "F-1", with: "F-\(index)"))
            let id = fault.recordID == "F-1" ? "F-\(index)" : fault.recordID
            expectedR.append("R|\(body.count + 1)|\(id)|\(fault.code)|")
        }
        let path = try sandbox.skywaysFile(sequence: 3, body: body)
        let result = try sandbox.ingestAccepted(path, chunkRecords: 5)
        let lines = try SettlementAck.lines(of: result)
        let aLines = lines.filter { $0.hasPrefix("A|") }
        let rLines = lines.filter { $0.hasPrefix("R|") }
        #expect(aLines.count == accepted)
        #expect(aLines == (0..<Self.cases.count).filter { !Self.cases[$0].line.contains("OK-") }.map { "A|G-\($0)|5" })
        try #require(rLines.count == expectedR.count)
        for (line, prefix) in zip(rLines, expectedR) { #expect(line.hasPrefix(prefix), "\(line)") }
        // The acknowledgement is A lines, then R lines, then the trailer.
        #expect(lines[2..<(2 + accepted)] == aLines[...])
        #expect(lines[lines.count - 2] == "T|\(body.count)|\(accepted)|\(expectedR.count)|\(5 * accepted)|0")
        // Replayed, the acknowledgement comes back identical from the ledger.
        let ack = try SettlementAck.bytes(try #require(result.acknowledgement))
        let replay = try sandbox.ingest(path)
        #expect(replay.status == .duplicate)
        #expect(try SettlementAck.bytes(try #require(replay.acknowledgement)) == ack)
    }
}
