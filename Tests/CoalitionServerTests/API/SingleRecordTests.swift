import CoalitionFiles
import CoalitionKit
import CoalitionServer
import Foundation
import Testing

/// A single record's JSON, as a partner's point-of-sale system sends it.
func recordJSON(
    _ type: String,
    id: String,
    member: String? = nil,
    original: String? = nil,
    units: Int? = nil,
    at time: String = "2026-11-22T09:30:00Z"
) -> [UInt8] {
    var fields = ["\"type\":\"\(type)\"", "\"recordId\":\"\(id)\"", "\"occurredAt\":\"\(time)\""]
    if let member { fields.append("\"member\":\"\(member)\"") }
    if let original { fields.append("\"original\":\"\(original)\"") }
    if let units { fields.append("\"units\":\(units)") }
    return Array(("{" + fields.joined(separator: ",") + "}").utf8)
}

extension APISandbox {
    /// The signed `POST /v1/records` of `body` by `partner`, answered.
    func post(_ body: [UInt8], as partner: String = "SKYWAYS") throws -> HTTPResponse {
        let request = try signer(partner).request(
            method: "POST",
            target: "/v1/records",
            body: .bytes(body),
            at: APITime.now
        )
        return api.respond(to: request)
    }

    /// Enrols member `n` at Skyways and earns `miles` there (half a point a mile).
    func enrolAndEarn(_ n: Int, miles: Int = 1_000, at time: String = "2026-11-21T09:00:00Z") throws {
        let member = SettlementLines.member(n)
        #expect(try post(recordJSON("ENROLL", id: "E\(n)", member: member, at: time)).status == 200)
        #expect(try post(recordJSON("EARN", id: "P\(n)", member: member, units: miles, at: time)).status == 200)
    }
}

extension SettlementLines {
    /// Member 1's number with its check digit wrong.
    static var badMember: String {
        let good = member(1)
        return good.dropLast() + (good.hasSuffix("0") ? "1" : "0")
    }
}

/// `recordJSON` as text, for test arguments people read.
func recordText(
    _ type: String,
    id: String,
    member: String? = nil,
    original: String? = nil,
    units: Int? = nil,
    at time: String = "2026-11-22T09:30:00Z"
) -> String {
    String(
        decoding: recordJSON(type, id: id, member: member, original: original, units: units, at: time),
        as: UTF8.self
    )
}

/// The receipt of an applied record, decoded.
struct Receipt: Decodable, Equatable {
    struct Share: Decodable, Equatable {
        let issuer: String
        let points: Int64
    }
    struct Made: Decodable, Equatable {
        let debtor: String
        let creditor: String
        let currency: String
        let amount: Int64
        let points: Int64
    }
    let recordId: String
    let type: String
    let outcome: String
    let batch: Int64
    let units: Int64
    let points: Int64
    let issuers: [Share]
    let obligations: [Made]
}

func receipt(_ response: HTTPResponse) throws -> Receipt {
    try JSONDecoder().decode(Receipt.self, from: Data(bodyBytes(response)))
}

@Suite("Single records: one record over the API, on the file's rules and record index")
struct SingleRecordTests {
    @Test func aCrossBrandRedemptionIsAnsweredWithItsSplitAndObligation() throws {
        let sandbox = try APISandbox()
        try sandbox.enrolAndEarn(1)
        let member = SettlementLines.member(1)
        // 400 hotel points at a quarter point each: 100 points, all issued by Skyways.
        let response = try sandbox.post(recordJSON("REDEEM", id: "H1", member: member, units: 400), as: "HARBOR")
        #expect(response.status == 200)
        #expect(response.headers["Coalition-Record-Status"] == "applied")
        let answer = try receipt(response)
        #expect(answer.outcome == "accepted" && answer.type == "REDEEM" && answer.recordId == "H1")
        #expect(answer.units == 400 && answer.points == -100)
        #expect(answer.issuers == [Receipt.Share(issuer: "SKYWAYS", points: -100)])
        #expect(answer.obligations.count == 1)
        #expect(answer.obligations.first?.debtor == "SKYWAYS" && answer.obligations.first?.creditor == "HARBOR")
        #expect(answer.obligations.first?.points == 100)
        let balance = try sandbox.writer.perform { ledger in ledger.member(try MemberNumber(member))?.balance ?? -1 }
        #expect(balance == 400)
    }

    @Test func theSameRecordAgainGetsTheSameAnswerAndAppliesNothing() throws {
        let sandbox = try APISandbox()
        try sandbox.enrolAndEarn(1)
        let body = recordJSON("REDEEM", id: "R1", member: SettlementLines.member(1), units: 100)
        let first = try sandbox.post(body)
        let again = try sandbox.post(body)
        #expect(first.status == 200 && again.status == 200)
        #expect(again.headers["Coalition-Record-Status"] == "replayed")
        #expect(bodyBytes(again) == bodyBytes(first))
        let balance = try sandbox.writer.perform { ledger in
            ledger.member(try MemberNumber(SettlementLines.member(1)))?.balance ?? -1
        }
        #expect(balance == 450)
    }

    @Test func theSameIdWithOtherContentIsAConflict() throws {
        let sandbox = try APISandbox()
        try sandbox.enrolAndEarn(1)
        #expect(
            try sandbox.post(recordJSON("REDEEM", id: "R1", member: SettlementLines.member(1), units: 100)).status
                == 200
        )
        let other = try sandbox.post(recordJSON("REDEEM", id: "R1", member: SettlementLines.member(1), units: 120))
        #expect(other.status == 409)
        #expect(try errorBody(other).code == "DUPLICATE_RECORD")
        #expect(other.headers["Coalition-Record-Status"] == "conflict")
    }

    @Test func aRecordIdAppliedByAFileIsTheSameKeyOverTheAPI() throws {
        let sandbox = try APISandbox()
        let file = try sandbox.settlementFile(sequence: 1, body: SettlementLines.enrolAndEarn(1, prefix: "SKY"))
        #expect(try sandbox.deliver(file).status == 200)
        // The file's EARN line: SKY-P1, 1000 miles at 2026-11-21T09:00:00Z.
        let member = SettlementLines.member(1)
        let same = try sandbox.post(
            recordJSON("EARN", id: "SKY-P1", member: member, units: 1_000, at: "2026-11-21T09:00:00Z")
        )
        #expect(same.status == 200)
        #expect(same.headers["Coalition-Record-Status"] == "replayed")
        #expect(try receipt(same).points == 500)
        let other = try sandbox.post(
            recordJSON("EARN", id: "SKY-P1", member: member, units: 999, at: "2026-11-21T09:00:00Z")
        )
        #expect(other.status == 409)
    }

    @Test(
        "Every refusal carries the file's reason code",
        arguments: [
            (recordText("REDEEM", id: "X1", member: SettlementLines.member(1), units: 100_000), "INSUFFICIENT_POINTS"),
            (recordText("EARN", id: "X2", member: SettlementLines.member(9), units: 10), "UNKNOWN_MEMBER"),
            (recordText("EARN", id: "X3", member: SettlementLines.badMember, units: 10), "BAD_MEMBER_NUMBER"),
            (recordText("EARN", id: "X4", member: SettlementLines.member(1), units: 0), "BAD_AMOUNT"),
            (recordText("EARN", id: "X5", member: SettlementLines.member(1), units: 10, at: "yesterday"), "BAD_TIME"),
            (recordText("GIFT", id: "X6", member: SettlementLines.member(1), units: 10), "UNKNOWN_RECORD_TYPE"),
            (recordText("EARN", id: "X|7", member: SettlementLines.member(1), units: 10), "MALFORMED_RECORD"),
            (
                recordText("EARN", id: String(repeating: "x", count: 65), member: SettlementLines.member(1), units: 10),
                "BAD_RECORD_ID"
            ),
            (recordText("ENROLL", id: "X9", member: SettlementLines.member(1)), "MEMBER_EXISTS"),
            (recordText("REVERSAL", id: "X10", original: "NOPE"), "UNKNOWN_ORIGINAL"),
            (recordText("REVERSAL", id: "X11", original: "P1", units: 2_000), "REVERSAL_EXCEEDS_ORIGINAL"),
            (
                recordText("EARN", id: "X12", member: SettlementLines.member(1), units: 10, at: "2024-01-01T00:00:00Z"),
                "RATE_NOT_IN_FORCE"
            ),
            (recordText("ENROLL", id: "X13", member: SettlementLines.member(2), units: 5), "MALFORMED_RECORD"),
            // A referral code goes to the file's parser and the engine: the demo network runs
            // no referral programme.
            (
                "{\"type\":\"ENROLL\",\"recordId\":\"X14\",\"member\":\"\(SettlementLines.member(2))\","
                    + "\"occurredAt\":\"2026-11-22T09:30:00Z\",\"referralCode\":\"EBY0-Z92Q-H0BD-CJZ6-A\"}",
                "REFERRALS_NOT_OFFERED"
            ),
            (
                "{\"type\":\"ENROLL\",\"recordId\":\"X15\",\"member\":\"\(SettlementLines.member(2))\","
                    + "\"occurredAt\":\"2026-11-22T09:30:00Z\",\"referralCode\":\"EBY0-Z92Q\"}",
                "BAD_REFERRAL_CODE"
            ),
            (
                "{\"type\":\"EARN\",\"recordId\":\"X16\",\"member\":\"\(SettlementLines.member(1))\",\"units\":5,"
                    + "\"occurredAt\":\"2026-11-22T09:30:00Z\",\"referralCode\":\"EBY0-Z92Q-H0BD-CJZ6-A\"}",
                "MALFORMED_RECORD"
            ),
            ("{\"type\":\"EARN\"}", "MALFORMED_RECORD"),
            ("not json", "MALFORMED_RECORD"),
        ]
    )
    func refusals(body: String, code: String) throws {
        let sandbox = try APISandbox()
        try sandbox.enrolAndEarn(1)
        let response = try sandbox.post(Array(body.utf8))
        #expect(response.status == 422)
        #expect(try errorBody(response).code == code)
        #expect(response.headers["Coalition-Reason-Code"] == code)
        #expect(response.headers["Coalition-Signature"] != nil)
        // Nothing was applied: the member still has the 500 points earned.
        let balance = try sandbox.writer.perform { ledger in
            ledger.member(try MemberNumber(SettlementLines.member(1)))?.balance ?? -1
        }
        #expect(balance == 500)
    }

    @Test func aReversalUndoesItsOriginalOnceAndOnlyARecordThatMovedPoints() throws {
        let sandbox = try APISandbox()
        try sandbox.enrolAndEarn(1)
        let reversal = try sandbox.post(recordJSON("REVERSAL", id: "V1", original: "P1"))
        #expect(reversal.status == 200)
        let answer = try receipt(reversal)
        #expect(answer.type == "REVERSAL" && answer.units == 1_000 && answer.points == -500)
        #expect(answer.issuers == [Receipt.Share(issuer: "SKYWAYS", points: -500)])
        let again = try sandbox.post(recordJSON("REVERSAL", id: "V2", original: "P1"))
        #expect(again.status == 422)
        #expect(try errorBody(again).code == "ALREADY_REVERSED")
        let enrolment = try sandbox.post(recordJSON("REVERSAL", id: "V3", original: "E1"))
        #expect(enrolment.status == 422)
        #expect(try errorBody(enrolment).code == "NOT_REVERSIBLE")
        // The reversal sent again without units matches what it undid: a replay, not a conflict.
        let replay = try sandbox.post(recordJSON("REVERSAL", id: "V1", original: "P1"))
        #expect(replay.status == 200 && bodyBytes(replay) == bodyBytes(reversal))
    }

    @Test func theAnswerIsSignedUnderThePartnersKeyOverTheDocumentedString() throws {
        let sandbox = try APISandbox()
        try sandbox.enrolAndEarn(1)
        let request = try sandbox.signer().request(
            method: "POST",
            target: "/v1/records",
            body: .bytes(recordJSON("REDEEM", id: "R1", member: SettlementLines.member(1), units: 100)),
            at: APITime.now
        )
        let response = sandbox.api.respond(to: request)
        #expect(response.headers["Coalition-Key-Id"] == "SKYWAYS-2026A")
        let expected = ResponseSignature(
            status: 200,
            method: "POST",
            target: "/v1/records",
            timestamp: try Timestamp(parsing: response.headers["Coalition-Timestamp"] ?? ""),
            partner: try PartnerID("SKYWAYS"),
            keyID: "SKYWAYS-2026A",
            requestSignature: request.head.headers["Coalition-Signature"] ?? "",
            bodyDigest: SHA256.hash(bodyBytes(response))
        )
        let mac = try expected.signature(using: KeyFile.read(sandbox.root + "/keys/SKYWAYS-2026A.key"))
        #expect(response.headers["Coalition-Signature"] == Hex.encode(mac))
        // Another partner's key does not verify it.
        let wrong = try expected.signature(using: KeyFile.read(sandbox.root + "/keys/HARBOR-2026A.key"))
        #expect(response.headers["Coalition-Signature"] != Hex.encode(wrong))
    }
}
