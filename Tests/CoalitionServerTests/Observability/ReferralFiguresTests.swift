import CoalitionKit
import Foundation
import Testing

@testable import CoalitionServer

@Suite("Referral figures: /metrics and the operator dashboard's programme figures")
struct ReferralFiguresTests {
    /// A referrer, one member referred whose qualifying earn paid the bonus (750 points from
    /// SKYWAYS), one referred whose bonus is pending.
    func sandbox() throws -> APISandbox {
        let sandbox = try APISandbox(referrals: ReferralRecordTests.programme)
        let referrer = SettlementLines.member(1)
        #expect(
            try sandbox.post(recordJSON("ENROLL", id: "E1", member: referrer, at: "2026-11-20T09:00:00Z")).status == 200
        )
        let code = try sandbox.writer.perform { ledger in
            try #require(ledger.network.referrals).code(for: try MemberNumber(referrer))
        }
        let tests = ReferralRecordTests()
        #expect(try sandbox.post(tests.enrol(SettlementLines.member(2), code: code, id: "E2")).status == 200)
        #expect(try sandbox.post(tests.enrol(SettlementLines.member(3), code: code, id: "E3")).status == 200)
        let earn = recordJSON(
            "EARN",
            id: "P2",
            member: SettlementLines.member(2),
            units: 1_000,
            at: "2026-11-21T12:00:00Z"
        )
        #expect(try sandbox.post(earn).status == 200)
        return sandbox
    }

    func scrape(_ operations: OperationsEndpoints) throws -> Exposition {
        let head = HTTPRequestHead(
            method: "GET",
            target: "/metrics",
            headers: HTTPHeaders(),
            remoteAddress: "127.0.0.1:1"
        )
        let response = operations.respond(to: HTTPRequest(head: head, body: .bytes([])))
        #expect(response.status == 200)
        return try Exposition(parsing: String(decoding: bodyBytes(response), as: UTF8.self))
    }

    @Test func metricsCountLinksPendingBonusesAndBonusPointsPerIssuer() throws {
        let sandbox = try sandbox()
        let operations = OperationsEndpoints(metrics: RequestMetrics(), writer: sandbox.writer)
        var figures = try scrape(operations)
        #expect(figures.value("coalition_ledger_referral_links") == 2)
        #expect(figures.value("coalition_ledger_referral_bonuses_pending") == 1)
        #expect(figures.value("coalition_ledger_referral_bonuses_total", ["issuer": "SKYWAYS"]) == 1)
        #expect(figures.value("coalition_ledger_referral_bonus_points_total", ["issuer": "SKYWAYS"]) == 750)
        #expect(figures.value("coalition_ledger_referral_bonus_points_taken_back_total", ["issuer": "SKYWAYS"]) == 0)
        #expect(figures.value("coalition_ledger_points_outstanding", ["issuer": "COALITION"]) == 0)
        // The earn reversed in full within the window: the bonus is taken back; the next
        // scrape reads only the new posting and counts it.
        let reversal = recordJSON("REVERSAL", id: "V2", original: "P2", at: "2026-11-21T13:00:00Z")
        #expect(try sandbox.post(reversal).status == 200)
        figures = try scrape(operations)
        #expect(figures.value("coalition_ledger_referral_bonuses_taken_back_total", ["issuer": "SKYWAYS"]) == 1)
        #expect(figures.value("coalition_ledger_referral_bonus_points_taken_back_total", ["issuer": "SKYWAYS"]) == 750)
        #expect(figures.value("coalition_ledger_referral_bonus_points_total", ["issuer": "SKYWAYS"]) == 750)
    }

    @Test func theDemoNetworkShowsNoReferralFamilies() throws {
        let sandbox = try APISandbox()
        try sandbox.enrolAndEarn(1)
        let figures = try scrape(OperationsEndpoints(metrics: RequestMetrics(), writer: sandbox.writer))
        #expect(figures.value("coalition_ledger_postings") != nil)
        #expect(figures.value("coalition_ledger_referral_links") == nil)
        #expect(figures.value("coalition_ledger_points_outstanding", ["issuer": "COALITION"]) == nil)
    }

    @Test func theDashboardsProgrammeFiguresCarryTheReferralLine() throws {
        let sandbox = try sandbox()
        let (performance, network) = try sandbox.writer.perform { ledger in
            (try ProgrammePerformance(ledger: ledger, asOf: APITime.now), ledger.network)
        }
        let html = OperatorHTML.referrals(performance, network)
        #expect(html.contains("Referral bonuses per funding issuer (all time)"))
        // SKYWAYS: 2 referrals, 1 bonus, 750 points paid, none back, 750 net, at 0.012 USD.
        #expect(
            html.contains(
                "<td>SKYWAYS</td><td class=\"n\">2</td><td class=\"n\">1</td><td class=\"n\">750</td>"
                    + "<td class=\"n\">0</td><td class=\"n\">750</td><td class=\"n\">9.00 USD</td>"
            ),
            "\(html)"
        )
        // The partner's own issue leaves the referred member's bonus (250) out: 500 points.
        #expect(performance.partners.first { $0.partner.rawValue == "SKYWAYS" }?.issued == 500)
    }
}
