import CoalitionKit
import CoalitionTestSupport
import Testing

@Suite("Ledger: reversals undo exactly what the original did")
struct ExactReversalTests {
    let skyways = Fixtures.skyways
    let harbor = Fixtures.harbor
    let marketplace = Fixtures.marketplace
    let alice = Fixtures.member(1)

    func tier(_ t: TestLedger, _ member: MemberNumber) -> String {
        Fixtures.network.tiers[t.ledger.member(member)?.tier ?? 0].name
    }

    @Test("a redemption reversal gives back the very lots it consumed: ids, issuers and dates")
    func redemptionReversalGivesBackTheLots() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
        try t.accept(r.earn(alice, 2_002, at: skyways, "2026-02-01T00:00:00Z"))
        try t.accept(r.earn(alice, 3_000, at: harbor, "2026-03-01T00:00:00Z"))
        try t.accept(r.earn(alice, 40_000, at: marketplace, "2026-03-05T00:00:00Z"))
        let held = t.lots(alice)
        let redeem = r.redeem(alice, 170_100, at: marketplace, "2026-04-01T00:00:00Z")
        #expect(try t.accept(redeem) == -1_701)
        #expect(t.lots(alice).count < held.count)
        try t.accept(r.reverse(redeem, 20_000, "2026-04-02T00:00:00Z"))
        try t.accept(r.reverse(redeem, nil, "2026-04-03T00:00:00Z"))
        #expect(t.lots(alice) == held)
        try t.checkEverything()
    }

    @Test("SKYWAYS earns, HARBOR earns, redeems, reverses the redemption and its earn: nothing owed, no HARBOR lot")
    func issueExample() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-11-01T00:00:00Z"))
        #expect(try t.accept(r.earn(alice, 1_000, at: skyways, "2026-11-02T00:00:00Z")) == 500)
        let skywaysLots = t.lots(alice)
        let earn = r.earn(alice, 400, at: harbor, "2026-11-03T00:00:00Z")
        #expect(try t.accept(earn) == 100)
        let redeem = r.redeem(alice, 2_400, at: harbor, "2026-11-04T00:00:00Z")
        #expect(try t.accept(redeem) == -600)
        #expect(try t.owed(skyways, harbor) == 550)
        #expect(try t.accept(r.reverse(redeem, nil, "2026-11-05T00:00:00Z")) == 600)
        #expect(try t.accept(r.reverse(earn, nil, "2026-11-06T00:00:00Z")) == -100)
        #expect(try t.owed(skyways, harbor) == 0)
        #expect(try t.owed(harbor, skyways) == 0)
        #expect(!t.lots(alice).contains { $0.issuer == harbor })
        #expect(t.lots(alice) == skywaysLots)
        #expect(t.issuerLiability(harbor) == 0)
        #expect(t.issuerLiability(skyways) == 500)
        try t.checkEverything()
    }

    @Test("an earn reversal takes from its own lot first when a redemption reversal gave it back in part")
    func ownLotFirstAfterPartialGiveBack() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
        try t.accept(r.earn(alice, 2_000, at: skyways, "2026-02-01T00:00:00Z"))  // 1,000, expires first
        let earn = r.earn(alice, 3_000, at: harbor, "2026-03-01T00:00:00Z")  // 1,000
        try t.accept(earn)
        let redeem = r.redeem(alice, 150_000, at: marketplace, "2026-04-01T00:00:00Z")  // 1,500
        try t.accept(redeem)
        // The last-consumed points come back first: 400 of Harbor's 500.
        try t.accept(r.reverse(redeem, 40_000, "2026-04-02T00:00:00Z"))
        #expect(t.lots(alice).map(\.issuer) == [harbor])
        #expect(t.lots(alice).map(\.points) == [900])
        try t.accept(r.reverse(earn, 1_200, "2026-04-03T00:00:00Z"))  // 400 points
        #expect(t.lots(alice).map(\.points) == [500])
        #expect(try t.obligations().allSatisfy { $0.creditor != harbor })
        try t.checkEverything()
    }

    @Test("an earn reversed in full undoes the tier it reached, by more than one tier, never below the tier before")
    func earnReversalUndoesTier() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
        let huge = r.earn(alice, 1_000_000_000_000, at: skyways, "2026-02-01T00:00:00Z")
        try t.accept(huge)
        #expect(tier(t, alice) == "Platinum")
        try t.accept(r.reverse(huge, nil, "2026-02-02T00:00:00Z"))
        #expect(tier(t, alice) == "Blue")
        #expect(t.ledger.member(alice)?.qualifying.isEmpty == true)

        // Silver on its own points, then Platinum; reversing the second leaves Silver.
        try t.accept(r.earn(alice, 60_000, at: skyways, "2026-03-01T00:00:00Z"))  // 30,000
        #expect(tier(t, alice) == "Silver")
        let big = r.earn(alice, 400_000, at: skyways, "2026-03-02T00:00:00Z")  // 200,000 (+10% bonus)
        try t.accept(big)
        #expect(tier(t, alice) == "Platinum")
        try t.accept(r.reverse(big, 200_000, "2026-03-03T00:00:00Z"))  // half: 130,000 still qualify
        #expect(tier(t, alice) == "Platinum")
        try t.accept(r.reverse(big, nil, "2026-03-04T00:00:00Z"))
        #expect(tier(t, alice) == "Silver")
        #expect(t.balance(alice) == 30_000)
        try t.checkEverything()
    }

    @Test("an earn reversal does not lower a tier the earn did not raise")
    func earnReversalLeavesTierItDidNotCause() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
        try t.accept(r.earn(alice, 60_000, at: skyways, "2026-03-01T00:00:00Z"))  // 30,000: Silver
        let small = r.earn(alice, 2_000, at: skyways, "2026-03-02T00:00:00Z")
        try t.accept(small)
        try t.accept(r.reverse(small, nil, "2026-03-03T00:00:00Z"))
        #expect(tier(t, alice) == "Silver")
        try t.checkEverything()
    }
}
