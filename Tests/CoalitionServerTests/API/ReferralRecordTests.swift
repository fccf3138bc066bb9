import CoalitionKit
import CoalitionServer
import Foundation
import Testing

@Suite("Referrals over the API: an enrolment with a code, the bonus on the first qualifying earn")
struct ReferralRecordTests {
    /// Partner-funded bonuses of 500 to the referrer and 250 to the member referred, for an
    /// earn of at least 100 points.
    static var programme: [String: Any] {
        [
            "perReferrerPerYear": 5, "clawbackDays": 60,
            "terms": [
                [
                    "from": "2026-01-01", "referrerPoints": 500, "referredPoints": 250, "minimumEarnPoints": 100,
                    "funding": "earning-partner",
                ]
            ],
        ]
    }

    func enrol(_ member: String, code: ReferralCode, id: String) -> [UInt8] {
        Array(
            ("{\"type\":\"ENROLL\",\"recordId\":\"\(id)\",\"member\":\"\(member)\","
                + "\"occurredAt\":\"2026-11-21T10:00:00Z\",\"referralCode\":\"\(code)\"}").utf8
        )
    }

    func balance(_ sandbox: APISandbox, _ member: String) throws -> Int64 {
        try sandbox.writer.perform { ledger in ledger.member(try MemberNumber(member))?.balance ?? -1 }
    }

    @Test func aReferredEnrolmentLinksAndItsFirstQualifyingEarnPaysBoth() throws {
        let sandbox = try APISandbox(referrals: Self.programme)
        let referrer = SettlementLines.member(1)
        let referred = SettlementLines.member(2)
        #expect(
            try sandbox.post(recordJSON("ENROLL", id: "E1", member: referrer, at: "2026-11-20T09:00:00Z")).status == 200
        )
        let code = try sandbox.writer.perform { ledger in
            try #require(ledger.network.referrals).code(for: try MemberNumber(referrer))
        }

        let enrolment = try sandbox.post(enrol(referred, code: code, id: "E2"))
        #expect(enrolment.status == 200)
        #expect(enrolment.headers["Coalition-Record-Status"] == "applied")
        let enrolled = try receipt(enrolment)
        #expect(enrolled.outcome == "accepted" && enrolled.type == "ENROLL" && enrolled.points == 0)
        let link = try sandbox.writer.perform { ledger in ledger.state.referrals.links[try MemberNumber(referred)] }
        let referrerNumber = try MemberNumber(referrer)
        #expect(link?.referrer == referrerNumber)
        #expect(link?.isPending == true)
        // The same code for the same member again is a replay; for a member enrolled, refused.
        #expect(
            try sandbox.post(enrol(referred, code: code, id: "E2")).headers["Coalition-Record-Status"] == "replayed"
        )
        let again = try sandbox.post(enrol(referred, code: code, id: "E3"))
        #expect(again.status == 422)
        #expect(try errorBody(again).code == "ALREADY_REFERRED")

        // 100 miles are 50 points: not qualifying, no bonus yet.
        let small = try sandbox.post(
            recordJSON("EARN", id: "P1", member: referred, units: 100, at: "2026-11-21T11:00:00Z")
        )
        #expect(small.status == 200)
        #expect(try receipt(small).points == 50)
        #expect(try balance(sandbox, referrer) == 0)
        // 1,000 miles are 500 points: the bonus is paid with it, by Skyways.
        let earn = try sandbox.post(
            recordJSON("EARN", id: "P2", member: referred, units: 1_000, at: "2026-11-21T12:00:00Z")
        )
        #expect(earn.status == 200)
        let earned = try receipt(earn)
        #expect(earned.points == 750, "the earn's points include the referred member's bonus")
        // The split is this member's: the referrer's 500 are another member's points.
        #expect(earned.issuers == [Receipt.Share(issuer: "SKYWAYS", points: 750)])
        #expect(try balance(sandbox, referred) == 800)
        #expect(try balance(sandbox, referrer) == 500)
        let (paid, report) = try sandbox.writer.perform { ledger in
            (
                ledger.state.referrals.links[try MemberNumber(referred)]?.bonusSeq != nil,
                try ReferralReport(ledger: ledger)
            )
        }
        #expect(paid)
        let line = try #require(report.lines.first)
        #expect(report.lines.count == 1 && line.month == "2026-11" && line.issuer.rawValue == "SKYWAYS")
        #expect(line.referrals == 1 && line.bonusesPaid == 1 && line.pointsPaid == 750)
        // 750 points at Skyways' 0.012 USD.
        #expect(line.netCost?.description == "9.00 USD")
        // The earn reversed in full: the bonus is taken back with it; the split is still
        // this member's (500 + 250), not the referrer's 500.
        let reversal = try sandbox.post(recordJSON("REVERSAL", id: "V2", original: "P2", at: "2026-11-21T12:30:00Z"))
        #expect(reversal.status == 200)
        let reversed = try receipt(reversal)
        #expect(reversed.points == -750)
        #expect(reversed.issuers == [Receipt.Share(issuer: "SKYWAYS", points: -750)])
        #expect(try balance(sandbox, referrer) == 0)
        // A later qualifying earn pays nothing more: the bonus is paid once.
        let later = try sandbox.post(
            recordJSON("EARN", id: "P3", member: referred, units: 1_000, at: "2026-11-21T13:00:00Z")
        )
        #expect(try receipt(later).points == 500)
        #expect(try balance(sandbox, referrer) == 0)
    }
}
