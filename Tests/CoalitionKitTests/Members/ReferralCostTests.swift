import CoalitionGeneration
import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

@Suite("Referral cost: the report's points and money against the journal, the programme figures and liability")
struct ReferralCostTests {
    @Test(
        "over generated activity the referral report adds up to the journal and the programme figures",
        arguments: [UInt64(4), 5]
    )
    func generated(seed: UInt64) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // Coalition points at 0.01 EUR: a point is a cent, so their cost is their points.
        let network = try ReferralNetwork.make(
            in: directory,
            perYear: 4,
            lifetimeDays: 45,
            coalitionValue: #"{ "currency": "EUR", "values": [{ "from": "2026-01-01", "valuePerPoint": "0.01" }] }"#
        )
        var t = try TestLedger(network: network)
        let activity = ActivityGenerator.generate(
            network: network,
            plan: ActivityGenerator.Plan(
                members: 150,
                records: 3_000,
                start: Fixtures.time("2026-02-20T00:00:00Z"),
                days: 60,
                seed: seed
            )
        )
        _ = try t.apply(activity.enrollments)
        for chunk in stride(from: 0, to: activity.activity.count, by: 500) {
            try t.apply(Array(activity.activity[chunk..<min(chunk + 500, activity.activity.count)]))
        }
        let report = try ReferralReport(ledger: t.ledger)
        // From the postings themselves: bonus points paid and taken back per issuer, and what
        // earns and their reversals moved into members' hands.
        var paid: [PartnerID: Int64] = [:]
        var back: [PartnerID: Int64] = [:]
        var bonuses: [PartnerID: Int] = [:]
        var earned: Int64 = 0
        for posting in t.store.content.postings {
            let detail = PostingDetail(posting.detail)
            if posting.kind == .earn || posting.kind == .reverseEarn { earned += posting.points }
            if let bonus = detail.referralBonus {
                paid[bonus.issuer, default: 0] += bonus.referredPoints + bonus.referrerPoints
                bonuses[bonus.issuer, default: 0] += 1
                earned += bonus.referrerPoints  // the referrer's lot is not in the earn's points
            }
            if let taken = detail.referralBack {
                back[taken.issuer, default: 0] += taken.referred + taken.referrer
                earned -= taken.referrer
            }
        }
        let totals = report.totals
        #expect(Set(totals.filter { $0.bonusesPaid > 0 }.map(\.issuer)) == Set(paid.keys))
        #expect(paid[.coalition, default: 0] > 0 && back.values.reduce(0, +) > 0, "both fundings, and clawbacks")
        for total in totals {
            #expect(total.pointsPaid == paid[total.issuer, default: 0], "\(total.issuer)")
            #expect(total.pointsTakenBack == back[total.issuer, default: 0], "\(total.issuer)")
            #expect(total.bonusesPaid == bonuses[total.issuer, default: 0], "\(total.issuer)")
            let cost = try #require(total.netCost, "\(total.issuer) is valued")
            #expect(cost.currency == network.pointCurrency(of: total.issuer))
            if total.issuer == .coalition {
                #expect(cost.minorUnits == total.netPoints)
            } else {
                // Rounded half to even per bonus: never more than half a minor unit each.
                let value = try network.partner(total.issuer).redemptionValue(at: Fixtures.time("2026-03-01T00:00:00Z"))
                let exact = Int128(total.netPoints) * Int128(value.numerator) / Int128(value.denominator)
                let postings = Int128(total.bonusesPaid + total.bonusesTakenBack)
                #expect(abs(Int128(cost.minorUnits) - exact) <= postings + 1, "\(total.issuer)")
            }
        }
        #expect(report.lines.reduce(0) { $0 + $1.referrals } == t.ledger.state.referrals.links.count)
        // Everything earns and bonuses put in members' hands is split between what partners
        // issued for their own earns and the referral bonuses net of clawbacks.
        let programme = try ProgrammePerformance(ledger: t.ledger, asOf: Fixtures.time("2026-05-01T00:00:00Z"))
        let issued = programme.partners.reduce(0) { $0 + $1.issued }
        #expect(issued + programme.referrals.reduce(0) { $0 + $1.netPoints } == earned)
        #expect(programme.referrals.map(\.issuer) == totals.map(\.issuer))
        // The liability's coalition line: its points outstanding at a cent each.
        let liability = try LiabilityReport(ledger: t.ledger, asOf: Fixtures.time("2026-05-01T00:00:00Z"))
        let coalition = try #require(liability.lines.first { $0.issuer == .coalition })
        #expect(coalition.value == Money(t.ledger.outstanding(.coalition), try Currency(code: "EUR")))
    }

    @Test("without a coalition value the coalition's bonuses are counted in points, not valued")
    func unvalued() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let network = try ReferralNetwork.make(in: directory)
        #expect(network.pointCurrency(of: .coalition) == nil)
        #expect(network.value(of: 100, issuedBy: .coalition, at: Fixtures.time("2026-04-01T00:00:00Z")) == nil)
        #expect(
            network.value(of: 750, issuedBy: Fixtures.skyways, at: Fixtures.time("2026-04-01T00:00:00Z"))?.description
                == "9.00 USD"
        )
    }
}
