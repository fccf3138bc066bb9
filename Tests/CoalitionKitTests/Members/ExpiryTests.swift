import CoalitionKit
import CoalitionTestSupport
import Testing

@Suite("Members: expiry, breakage, and reversals of expired points")
struct ExpiryTests {
    let skyways = Fixtures.skyways
    let harbor = Fixtures.harbor
    let marketplace = Fixtures.marketplace
    let alice = Fixtures.member(1)
    let bob = Fixtures.member(2)

    /// Points live ten days.
    func ledger(tiers: [Tier] = [MemberNetworks.blue]) throws -> (TestLedger, RecordMaker) {
        var t = try TestLedger(network: MemberNetworks.make(lifetimeDays: 10, tiers: tiers))
        var r = RecordMaker()
        for member in [alice, bob] { try t.accept(r.enroll(member, at: skyways, "2026-03-01T00:00:00Z")) }
        return (t, r)
    }

    func expire(_ t: TestLedger, _ time: String) throws -> ExpiryResult {
        try t.ledger.expire(asOf: Fixtures.time(time), now: Fixtures.time(time))
    }

    @Test("a lot expiring exactly at the as-of instant expires; one a second later does not; again changes nothing")
    func boundary() throws {
        var (t, r) = try ledger()
        try t.accept(r.earn(alice, 1_000, at: skyways, "2026-03-01T12:00:00Z"))  // 500 until 03-11T12:00:00Z
        try t.accept(r.earn(alice, 600, at: skyways, "2026-03-01T12:00:01Z"))  // 300, a second later
        let first = try #require(t.lots(alice).first)
        #expect(first.expiresAt == Fixtures.time("2026-03-11T12:00:00Z"))

        #expect(try expire(t, "2026-03-11T11:59:59Z").points == 0)
        let result = try expire(t, "2026-03-11T12:00:00Z")
        #expect(result.members == 1)
        #expect(result.lots == 1)
        #expect(result.points == 500)
        #expect(result.breakage == [skyways: 500])
        #expect(t.lots(alice).map(\.points) == [300])
        #expect(t.balance(alice) == 300)
        let expired = try #require(try t.store.expiredLot(first.id))
        #expect(expired.points == 500)
        #expect(expired.issuer == skyways)
        #expect(expired.member == alice)
        #expect(expired.expiredAt == Fixtures.time("2026-03-11T12:00:00Z"))
        #expect(expired.reversed == 0)
        let posting = try #require(t.store.content.postings.last)
        #expect(posting.kind == .expire)
        #expect(posting.member == alice)
        #expect(posting.points == -500)
        #expect(posting.recordKey == nil)
        try t.checkEverything()

        // The same date again: nothing new, not even a batch.
        let state = StateImage(t.ledger.state)
        let content = t.store.content
        let again = try expire(t, "2026-03-11T12:00:00Z")
        #expect(again.points == 0)
        #expect(again.lots == 0)
        #expect(again.members == 0)
        #expect(again.breakage.isEmpty)
        #expect(StateImage(t.ledger.state) == state)
        let storeIsUnchanged = t.store.content == content
        #expect(storeIsUnchanged)

        #expect(try expire(t, "2026-03-11T12:00:01Z").points == 300)
        #expect(t.lots(alice).isEmpty)
        #expect(t.balance(alice) == 0)
        try t.checkEverything()
    }

    @Test("breakage per issuer grows by exactly what expired and outstanding drops by it")
    func breakagePerIssuer() throws {
        var (t, r) = try ledger()
        try t.accept(r.earn(alice, 1_000, at: skyways, "2026-03-01T00:00:00Z"))  // 500 until 03-11
        try t.accept(r.earn(alice, 900, at: harbor, "2026-03-02T00:00:00Z"))  // 300 until 03-12
        try t.accept(r.earn(bob, 70_000, at: marketplace, "2026-03-03T00:00:00Z"))  // 700 until 03-13
        try t.accept(r.earn(bob, 4_000, at: skyways, "2026-03-05T00:00:00Z"))  // 2,000 until 03-15
        // alice spends 100 of the SKYWAYS lot (soonest-expiring first) at HARBOR.
        try t.accept(r.redeem(alice, 300, at: harbor, "2026-03-04T00:00:00Z"))
        let partners = [skyways, harbor, marketplace]
        let breakageBefore = Dictionary(uniqueKeysWithValues: partners.map { ($0, t.breakage($0)) })
        let outstandingBefore = Dictionary(uniqueKeysWithValues: partners.map { ($0, t.ledger.outstanding($0)) })
        let issuerBefore = Dictionary(uniqueKeysWithValues: partners.map { ($0, t.issuerAccount($0)) })
        let result = try expire(t, "2026-03-13T00:00:00Z")
        #expect(result.breakage == [skyways: 400, harbor: 300, marketplace: 700])
        #expect(result.points == 1_400)
        #expect(result.lots == 3)
        #expect(result.members == 2)
        for partner in partners {
            let expired = result.breakage[partner] ?? 0
            #expect(t.breakage(partner) == breakageBefore[partner]! + expired, "\(partner)")
            #expect(t.ledger.outstanding(partner) == outstandingBefore[partner]! - expired, "\(partner)")
            // The issuer's own account does not move: breakage ends the liability.
            #expect(t.issuerAccount(partner) == issuerBefore[partner]!, "\(partner)")
        }
        #expect(t.balance(alice) == 0)
        #expect(t.balance(bob) == 2_000)
        t.expectLotsTraceToIssuers()
        try t.checkEverything()
    }

    @Test("reversing an earn whose lot expired books the breakage back: the member's balance is untouched, no debt")
    func reversalAfterExpiry() throws {
        var (t, r) = try ledger()
        let earn = r.earn(alice, 1_000, at: skyways, "2026-03-01T00:00:00Z")  // 500
        try t.accept(earn)
        let lotID = try #require(t.lots(alice).first?.id)
        try t.accept(r.earn(alice, 600, at: harbor, "2026-03-08T00:00:00Z"))  // 200, alive
        _ = try expire(t, "2026-03-11T00:00:00Z")
        #expect(t.breakage(skyways) == 500)
        #expect(t.balance(alice) == 200)
        let issuerBefore = t.issuerAccount(skyways)

        let outcome = try t.apply([r.reverse(earn, nil, "2026-03-12T00:00:00Z")])[0]
        #expect(outcome == .accepted(points: 0))
        #expect(t.breakage(skyways) == 0)
        #expect(t.issuerAccount(skyways) == issuerBefore + 500)
        #expect(t.issuerAccount(skyways) == 0)
        #expect(t.ledger.outstanding(skyways) == 0)
        #expect(t.balance(alice) == 200)
        #expect(t.lots(alice).map(\.issuer) == [harbor])
        #expect(t.debts(alice).isEmpty)
        #expect(try t.obligations().isEmpty)
        let posting = try #require(t.store.content.postings.last)
        #expect(posting.kind == .reverseEarn)
        #expect(!posting.legs.contains { $0.account == Account.member(alice) })
        #expect(posting.points == 0)
        #expect(try t.store.expiredLot(lotID)?.reversed == 500)
        t.expectLotsTraceToIssuers()
        try t.checkEverything()
    }

    @Test("partial reversals after expiry telescope to exactly the points that expired")
    func partialAfterExpiry() throws {
        var (t, r) = try ledger()
        let earn = r.earn(alice, 1_001, at: skyways, "2026-03-01T00:00:00Z")  // ⌊1001/2⌋ = 500
        try t.accept(earn)
        let lotID = try #require(t.lots(alice).first?.id)
        _ = try expire(t, "2026-03-11T00:00:00Z")
        #expect(t.breakage(skyways) == 500)
        // ⌊333/2⌋ = 166; ⌊666/2⌋ − 166 = 167; 500 − 333 = 167.
        var booked: [Int64] = []
        for units: Int64? in [333, 333, nil] {
            let before = t.breakage(skyways)
            try t.accept(r.reverse(earn, units, "2026-03-12T00:00:00Z"))
            booked.append(before - t.breakage(skyways))
            #expect(t.balance(alice) == 0)
            #expect(t.debts(alice).isEmpty)
        }
        #expect(booked == [166, 167, 167])
        #expect(t.breakage(skyways) == 0)
        #expect(try t.store.expiredLot(lotID)?.reversed == 500)
        try t.reject(r.reverse(earn, 1, "2026-03-12T00:00:00Z"), .alreadyReversed)
        try t.checkEverything()
    }

    @Test("a lot partly spent, then expired: a full reversal books back what expired and takes the rest as debt")
    func spentThenExpired() throws {
        var (t, r) = try ledger()
        let earn = r.earn(alice, 2_000, at: skyways, "2026-03-01T00:00:00Z")  // 1,000
        try t.accept(earn)
        try t.accept(r.redeem(alice, 600, at: skyways, "2026-03-02T00:00:00Z"))  // 300 spent
        _ = try expire(t, "2026-03-11T00:00:00Z")
        #expect(t.breakage(skyways) == 700)
        #expect(try t.accept(r.reverse(earn, nil, "2026-03-12T00:00:00Z")) == -300)
        #expect(t.breakage(skyways) == 0)
        #expect(t.balance(alice) == -300)
        #expect(t.debts(alice).map(\.points) == [-300])
        #expect(t.debts(alice).map(\.issuer) == [skyways])
        #expect(t.ledger.outstanding(skyways) == -300)
        t.expectLotsTraceToIssuers()
        try t.checkEverything()
    }

    @Test("an expired tier bonus is booked back with its earn")
    func expiredBonus() throws {
        var (t, r) = try ledger(tiers: [MemberNetworks.blue, MemberNetworks.silver])
        try t.accept(r.earn(alice, 2_000, at: skyways, "2026-03-01T00:00:00Z"))  // Silver
        let earn = r.earn(alice, 4_000, at: harbor, "2026-03-02T00:00:00Z")  // 1,333 + 133 bonus
        #expect(try t.accept(earn) == 1_466)
        let result = try expire(t, "2026-03-12T00:00:00Z")
        #expect(result.breakage == [skyways: 1_000, harbor: 1_466])
        #expect(result.lots == 3)
        #expect(try t.accept(r.reverse(earn, nil, "2026-03-13T00:00:00Z")) == 0)
        #expect(t.breakage(harbor) == 0)
        #expect(t.breakage(skyways) == 1_000)
        #expect(t.ledger.outstanding(harbor) == 0)
        #expect(t.balance(alice) == 0)
        #expect(t.debts(alice).isEmpty)
        try t.checkEverything()
    }
}
