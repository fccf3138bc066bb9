import CoalitionKit
import CoalitionServer
import Foundation
import Testing

/// The balance answer, decoded.
struct Balance: Decodable, Equatable {
    let member: String
    let status: String
    let points: Int64
    let units: Int64?
    let unit: String
    let tier: String?
}

@Suite("Balance inquiry: what a member can redeem at the calling partner now")
struct MemberBalanceTests {
    func balance(_ sandbox: APISandbox, _ member: String, as partner: String) throws -> (HTTPResponse, Balance?) {
        let response = try sandbox.get("/v1/members/\(member)", as: partner)
        return (response, try? JSONDecoder().decode(Balance.self, from: Data(bodyBytes(response))))
    }

    @Test func pointsPastTheirDateAreNotSpendable() throws {
        let sandbox = try APISandbox()
        let member = SettlementLines.member(1)
        // 500 points earned in January 2025 (540 days: past their date by now, not yet
        // taken by an expiry run), and 500 earned yesterday.
        #expect(
            try sandbox.post(recordJSON("ENROLL", id: "E1", member: member, at: "2025-01-02T10:00:00Z")).status == 200
        )
        #expect(
            try sandbox.post(recordJSON("EARN", id: "OLD", member: member, units: 1_000, at: "2025-01-02T10:00:00Z"))
                .status == 200
        )
        #expect(
            try sandbox.post(recordJSON("EARN", id: "NEW", member: member, units: 1_000, at: "2026-11-21T10:00:00Z"))
                .status == 200
        )
        let (response, answer) = try balance(sandbox, member, as: "HARBOR")
        #expect(response.status == 200)
        // A quarter point per hotel point at Harbor: 500 points are worth 2000 HPT.
        #expect(answer == Balance(member: member, status: "open", points: 500, units: 2_000, unit: "HPT", tier: "Blue"))
        // What the inquiry says can be redeemed, can: and one unit more cannot.
        let more = try sandbox.post(recordJSON("REDEEM", id: "H2", member: member, units: 2_001), as: "HARBOR")
        #expect(more.status == 422)
        #expect(try errorBody(more).code == "INSUFFICIENT_POINTS")
        #expect(
            try sandbox.post(recordJSON("REDEEM", id: "H1", member: member, units: 2_000), as: "HARBOR").status == 200
        )
        #expect(try balance(sandbox, member, as: "HARBOR").1?.points == 0)
    }

    @Test(
        "The units are the most one REDEEM may carry, for generated balances",
        arguments: [1, 2, 3, 7, 499, 1_000, 12_345]
    )
    func unitsAreExact(miles: Int) throws {
        let sandbox = try APISandbox()
        try sandbox.enrolAndEarn(1, miles: miles)
        let member = SettlementLines.member(1)
        let answer = try #require(try balance(sandbox, member, as: "HARBOR").1)
        // Skyways gives half a point a mile, rounded down.
        #expect(answer.points == Int64(miles / 2))
        #expect(answer.units == answer.points * 4)
        if answer.points > 0 {
            let over = recordJSON("REDEEM", id: "OVER", member: member, units: Int(answer.units! + 1))
            #expect(try sandbox.post(over, as: "HARBOR").status == 422)
            let exact = recordJSON("REDEEM", id: "EXACT", member: member, units: Int(answer.units!))
            #expect(try sandbox.post(exact, as: "HARBOR").status == 200)
        }
    }

    @Test func anUnknownMemberAndANonNumberAre404() throws {
        let sandbox = try APISandbox()
        let (unknown, _) = try balance(sandbox, SettlementLines.member(5), as: "SKYWAYS")
        #expect(unknown.status == 404)
        #expect(try errorBody(unknown).code == "UNKNOWN_MEMBER")
        for text in ["abc", SettlementLines.badMember, "-1"] {
            let (response, _) = try balance(sandbox, text, as: "SKYWAYS")
            #expect(response.status == 404)
            #expect(try errorBody(response).code == "NOT_FOUND")
        }
    }

    @Test func theAnswerNamesNoOtherPartner() throws {
        let sandbox = try APISandbox()
        try sandbox.enrolAndEarn(1)
        let response = try sandbox.get("/v1/members/\(SettlementLines.member(1))", as: "HARBOR")
        let text = String(decoding: bodyBytes(response), as: UTF8.self)
        #expect(response.status == 200)
        for other in ["SKYWAYS", "MARKETPLACE", "ROADRUNNER", "MILE"] { #expect(!text.contains(other)) }
    }
}
