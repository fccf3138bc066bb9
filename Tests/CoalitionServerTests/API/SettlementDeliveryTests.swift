import CoalitionKit
import CoalitionServer
import CoalitionTestSupport
import Foundation
import Testing

@Suite("Delivering a settlement file: the answer is the acknowledgement outbox/ gets")
struct SettlementDeliveryTests {
    @Test func anAcceptedFileIsAnsweredWithItsAcknowledgement() throws {
        let sandbox = try APISandbox()
        let file = try sandbox.settlementFile(sequence: 1, body: SettlementLines.enrolAndEarn(1, prefix: "SKY"))
        let response = try sandbox.deliver(file)
        #expect(response.status == 200)
        #expect(response.headers["Coalition-Batch-Status"] == "accepted")
        #expect(response.headers["Location"] == "/v1/acknowledgements/1")
        let ack = bodyBytes(response)
        #expect(ack == Array(FileManager.default.contents(atPath: sandbox.outbox("SKYWAYS-000001.ack")) ?? Data()))
        let text = String(decoding: ack, as: UTF8.self)
        #expect(text.hasPrefix("H|COALITION-ACK|1|C2P|SKYWAYS|1|2026-11-22T10:00:00Z|SKYWAYS-2026A\n"))
        #expect(text.contains("A|SKY-P1|500\n"))
        // Filed under archive/ as an upload of the partner, as the inbox files it.
        let archived = try FileManager.default.contentsOfDirectory(atPath: sandbox.root + "/archive")
        #expect(archived == ["SKYWAYS-upload-20261122T100000Z"])
        #expect(FileManager.default.contents(atPath: sandbox.root + "/archive/" + archived[0]) == Data(file))
        // The batch log names it so, the transport's own spool file is left to the
        // transport, and nothing of the request stays in spool/.
        let source = try sandbox.writer.perform { try $0.store.batch(partner: try PartnerID("SKYWAYS"), sequence: 1) }?
            .info.source
        #expect(source == "file:SKYWAYS-upload-20261122T100000Z")
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.root + "/uploads").count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.root + "/spool").isEmpty)
    }

    @Test func aReplayedFileGetsTheSameAnswer() throws {
        let sandbox = try APISandbox()
        let file = try sandbox.settlementFile(sequence: 1, body: SettlementLines.enrolAndEarn(1, prefix: "SKY"))
        let first = bodyBytes(try sandbox.deliver(file))
        let replay = try sandbox.deliver(file)
        #expect(replay.status == 200)
        #expect(replay.headers["Coalition-Batch-Status"] == "duplicate")
        #expect(bodyBytes(replay) == first)
        let balance = try sandbox.writer.perform { ledger in
            ledger.member(try MemberNumber(SettlementLines.member(1)))?.balance ?? -1
        }
        #expect(balance == 500)
    }

    @Test func aConflictingFileIsRefusedWithItsSignedRejection() throws {
        let sandbox = try APISandbox()
        _ = try sandbox.deliver(
            try sandbox.settlementFile(sequence: 1, body: SettlementLines.enrolAndEarn(1, prefix: "SKY"))
        )
        let other = try sandbox.settlementFile(sequence: 1, body: SettlementLines.enrolAndEarn(2, prefix: "SKY"))
        let response = try sandbox.deliver(other)
        #expect(response.status == 409)
        #expect(response.headers["Coalition-Reason-Code"] == "BATCH_CONFLICT")
        let text = String(decoding: bodyBytes(response), as: UTF8.self)
        #expect(text.hasPrefix("H|COALITION-ACK|1|C2P|SKYWAYS|1|"))
        #expect(text.contains("BATCH_CONFLICT"))
        let rejected = try FileManager.default.contentsOfDirectory(atPath: sandbox.root + "/rejected").sorted()
        #expect(rejected == ["SKYWAYS-upload-20261122T100000Z", "SKYWAYS-upload-20261122T100000Z.reason"])
    }

    @Test func aGapIsAConflict() throws {
        let sandbox = try APISandbox()
        let response = try sandbox.deliver(
            try sandbox.settlementFile(sequence: 2, body: SettlementLines.enrolAndEarn(1, prefix: "SKY"))
        )
        #expect(response.status == 409)
        #expect(response.headers["Coalition-Reason-Code"] == "SEQUENCE_GAP")
    }

    @Test func aDamagedFileIsRejectedWholeWithNothingApplied() throws {
        let sandbox = try APISandbox()
        var file = try sandbox.settlementFile(sequence: 1, body: SettlementLines.enrolAndEarn(1, prefix: "SKY"))
        // One digit of the EARN's amount changed after signing: 1000 miles made 1001.
        let earn = try #require(Self.index(of: Array("|1000|".utf8), in: file))
        file[earn + 4] = UInt8(ascii: "1")
        let response = try sandbox.deliver(file)
        #expect(response.status == 422)
        #expect(response.headers["Coalition-Reason-Code"] == "BAD_SIGNATURE")
        #expect(String(decoding: bodyBytes(response), as: UTF8.self).contains("|BAD_SIGNATURE|"))
        let last = try sandbox.writer.perform { try $0.store.lastSequence(partner: try PartnerID("SKYWAYS")) }
        #expect(last == 0)
    }

    /// Where `needle` first starts in `bytes`.
    static func index(of needle: [UInt8], in bytes: [UInt8]) -> Int? {
        (0...(bytes.count - needle.count)).first { Array(bytes[$0..<($0 + needle.count)]) == needle }
    }

    /// A file whose header cannot be read cannot be answered under a key: a JSON error.
    @Test func anUnreadableFileGetsAJSONError() throws {
        let sandbox = try APISandbox()
        let response = try sandbox.deliver(Array("not a settlement file\n".utf8))
        #expect(response.status == 422)
        #expect(try errorBody(response).code == "BAD_HEADER")
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.root + "/rejected").count == 2)
    }

    @Test func anotherPartnersFileIsForbidden() throws {
        let sandbox = try APISandbox()
        let harbor = try sandbox.settlementFile(
            "HARBOR",
            sequence: 1,
            body: SettlementLines.enrolAndEarn(1, prefix: "HB")
        )
        let response = try sandbox.deliver(harbor, as: "SKYWAYS")
        #expect(response.status == 403)
        #expect(try errorBody(response).code == "FORBIDDEN")
        let last = try sandbox.writer.perform { try $0.store.lastSequence(partner: try PartnerID("HARBOR")) }
        #expect(last == 0)
        #expect(try sandbox.deliver(harbor, as: "HARBOR").status == 200)
    }

    /// A body handed over in memory (a transport that did not spool it) is taken the same way.
    @Test func aBodyInMemoryIsTakenToo() throws {
        let sandbox = try APISandbox()
        let file = try sandbox.settlementFile(sequence: 1, body: SettlementLines.enrolAndEarn(1, prefix: "SKY"))
        let request = try sandbox.signer().request(
            method: "POST",
            target: "/v1/settlement-files",
            body: .bytes(file),
            at: APITime.now
        )
        #expect(sandbox.api.respond(to: request).status == 200)
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.root + "/spool").isEmpty)
    }
}
