import CoalitionKit
import CoalitionTestSupport
import Testing

@Suite("Members: tiers, their bonuses, reviews and downgrade policies")
struct TierTests {
    let skyways = Fixtures.skyways
    let harbor = Fixtures.harbor
    let alice = Fixtures.member(1)
    let bob = Fixtures.member(2)

    /// Blue 0, Silver 1,000 (10 %), Gold 3,000 (25 %), Platinum 8,000 (50 %); a 30-day window.
    func ledger(
        policy: DowngradePolicy = .oneTier,
        windowDays: Int64 = 30
    ) throws -> (TestLedger, RecordMaker) {
        var t = try TestLedger(network: MemberNetworks.make(tierWindowDays: windowDays, downgradePolicy: policy))
        var r = RecordMaker()
        for member in [alice, bob] { try t.accept(r.enroll(member, at: skyways, "2026-01-02T00:00:00Z")) }
        return (t, r)
    }

    @Test("exactly the threshold upgrades at once, one point below does not")
    func threshold() throws {
        var (t, r) = try ledger()
        // SKYWAYS: 1/2 point a mile.
        #expect(try t.accept(r.earn(alice, 1_998, at: skyways, "2026-03-01T10:00:00Z")) == 999)
        #expect(t.tier(alice) == "Blue")
        #expect(try t.store.tierChanges(member: alice).isEmpty)
        #expect(
            t.ledger.network.nextTier(for: try t.account(alice), at: Fixtures.time("2026-03-01T10:00:00Z"))?.missing
                == 1
        )
        #expect(try t.accept(r.earn(alice, 2, at: skyways, "2026-03-01T11:00:00Z")) == 1)
        #expect(t.tier(alice) == "Silver")
        #expect(try t.account(alice).tierSince == Fixtures.time("2026-03-01T11:00:00Z"))
        let changes = try t.store.tierChanges(member: alice)
        #expect(changes.count == 1)
        let change = try #require(changes.first)
        #expect(change.from == "Blue")
        #expect(change.to == "Silver")
        #expect(change.at == Fixtures.time("2026-03-01T11:00:00Z"))
        #expect(change.reason.hasPrefix("upgrade: 1000 qualifying points"), "\(change.reason)")
        let next = try #require(t.ledger.network.nextTier(for: try t.account(alice), at: change.at))
        #expect(next.tier.name == "Gold")
        #expect(next.missing == 2_000)
        // One earn may cross two tiers.
        #expect(try t.accept(r.earn(bob, 6_000, at: skyways, "2026-03-01T12:00:00Z")) == 3_000)
        #expect(t.tier(bob) == "Gold")
        #expect(try t.store.tierChanges(member: bob).map { "\($0.from)→\($0.to)" } == ["Blue→Gold"])
        try t.checkEverything()
    }

    @Test("the earn that crosses gets no bonus; the next gets the tier's percent, floored, funded by its partner")
    func bonus() throws {
        var (t, r) = try ledger()
        let crossing = r.earn(alice, 2_000, at: skyways, "2026-03-01T10:00:00Z")
        #expect(try t.accept(crossing) == 1_000)
        #expect(t.tier(alice) == "Silver")
        #expect(t.lots(alice).allSatisfy { !$0.isBonus })
        let crossingPosting = try #require(t.store.content.postings.last)
        #expect(PostingDetail(crossingPosting.detail).bonus == nil)

        // HARBOR, 1/3 point a hotel point: 3,015 → 1,005 points, 10 % → 100.5 → 100.
        let harborBefore = t.ledger.outstanding(harbor)
        #expect(try t.accept(r.earn(alice, 3_015, at: harbor, "2026-03-02T10:00:00Z")) == 1_105)
        let posting = try #require(t.store.content.postings.last)
        #expect(posting.points == 1_105)
        let detail = PostingDetail(posting.detail)
        #expect(detail.bonus == 100)
        let bonusLot = try #require(t.lots(alice).first { $0.isBonus })
        #expect(bonusLot.id == detail.bonusLot)
        #expect(bonusLot.issuer == harbor)
        #expect(bonusLot.points == 100)
        let lot = try #require(t.lots(alice).first { $0.id == detail.lot })
        #expect(lot.points == 1_005)
        #expect(bonusLot.earnedAt == lot.earnedAt)
        #expect(bonusLot.expiresAt == lot.expiresAt)
        // The earning partner stands behind the bonus like any point it issued.
        #expect(t.ledger.outstanding(harbor) == harborBefore + 1_105)
        #expect(posting.legs.contains(Leg(Account.issuer(harbor), Account.points, -1_105)))
        // Bonus points do not qualify: 1,000 + 1,005.
        #expect(t.qualifying(alice, at: "2026-03-02T10:00:00Z") == 2_005)
        #expect(t.tier(alice) == "Silver")
        t.expectLotsTraceToIssuers()
        try t.checkEverything()
    }

    @Test("qualifying points count earns only: not transfers in, not bonuses, and spending does not lower them")
    func earnsOnly() throws {
        var (t, r) = try ledger()
        try t.accept(r.earn(bob, 20_000, at: skyways, "2026-03-01T00:00:00Z"))  // bob: Platinum
        try t.transfer(bob, alice, 9_000, "2026-03-02T00:00:00Z")
        #expect(t.balance(alice) == 9_000)
        #expect(t.qualifying(alice, at: "2026-03-02T00:00:00Z") == 0)
        #expect(t.tier(alice) == "Blue")
        #expect(try t.account(alice).qualifying.isEmpty)
        // Sending and spending leave bob's qualifying points alone.
        try t.accept(r.redeem(bob, 1_000, at: skyways, "2026-03-03T00:00:00Z"))
        #expect(t.qualifying(bob, at: "2026-03-03T00:00:00Z") == 10_000)
        #expect(
            try t.ledger.reviewTiers(
                asOf: Fixtures.time("2026-03-03T00:00:00Z"),
                now: Fixtures.time("2026-03-03T00:00:00Z")
            ).isEmpty
        )
        #expect(t.tier(bob) == "Platinum")
        // alice's first earn: 500, no bonus; qualifying 500.
        try t.accept(r.earn(alice, 1_000, at: skyways, "2026-03-04T00:00:00Z"))
        #expect(t.qualifying(alice, at: "2026-03-04T00:00:00Z") == 500)
        // bob's earn at Platinum: 1,000 + 500 bonus, 1,000 qualifying.
        #expect(try t.accept(r.earn(bob, 2_000, at: skyways, "2026-03-05T00:00:00Z")) == 1_500)
        #expect(t.qualifying(bob, at: "2026-03-05T00:00:00Z") == 11_000)
        try t.checkEverything()
    }

    @Test("a day that leaves the window stops counting at the review")
    func windowEdge() throws {
        var (t, r) = try ledger()
        try t.accept(r.earn(alice, 2_000, at: skyways, "2026-03-01T12:00:00Z"))
        #expect(t.tier(alice) == "Silver")
        // 30 days: 2026-03-01 through 2026-03-30.
        #expect(t.qualifying(alice, at: "2026-03-30T23:59:59Z") == 1_000)
        #expect(t.qualifying(alice, at: "2026-03-31T00:00:00Z") == 0)
        let lastDay = Fixtures.time("2026-03-30T23:59:59Z")
        #expect(try t.ledger.reviewTiers(asOf: lastDay, now: lastDay).isEmpty)
        #expect(t.tier(alice) == "Silver")
        let nextDay = Fixtures.time("2026-03-31T00:00:00Z")
        let changes = try t.ledger.reviewTiers(asOf: nextDay, now: nextDay)
        #expect(changes.map(\.member) == [alice])
        #expect(t.tier(alice) == "Blue")
        #expect(try t.account(alice).tierSince == nextDay)
        let stored = try t.store.tierChanges(member: alice)
        #expect(stored.map { "\($0.from)→\($0.to)" } == ["Blue→Silver", "Silver→Blue"])
        #expect(stored.last == changes.first)
        #expect(stored.last?.reason == "review: 0 qualifying points in 30 days (one-tier policy)")
        try t.checkEverything()
    }

    struct PolicyCase: Sendable, CustomTestStringConvertible {
        let policy: DowngradePolicy
        /// The tier after each of four reviews on the same date (the first moves, the reruns
        /// do not: a review is idempotent per date).
        let tiers: [String]

        var testDescription: String { policy.rawValue }
    }

    @Test(
        "a review goes down one tier per date, or straight to the tier the points support",
        arguments: [
            PolicyCase(policy: .oneTier, tiers: ["Gold", "Gold", "Gold", "Gold"]),
            PolicyCase(policy: .toQualified, tiers: ["Silver", "Silver", "Silver", "Silver"]),
        ]
    )
    func downgrade(_ run: PolicyCase) throws {
        var (t, r) = try ledger(policy: run.policy)
        try t.accept(r.earn(alice, 16_000, at: skyways, "2026-03-01T00:00:00Z"))
        #expect(t.tier(alice) == "Platinum")
        // 1,000 qualifying points on 2026-04-10 (and a 500 bonus that does not qualify).
        #expect(try t.accept(r.earn(alice, 2_000, at: skyways, "2026-04-10T00:00:00Z")) == 1_500)
        let review = Fixtures.time("2026-04-15T00:00:00Z")
        #expect(t.qualifying(alice, at: "2026-04-15T00:00:00Z") == 1_000)
        var seen: [String] = []
        for _ in run.tiers {
            _ = try t.ledger.reviewTiers(asOf: review, now: review)
            seen.append(t.tier(alice))
        }
        #expect(seen == run.tiers)
        let changes = try t.store.tierChanges(member: alice)
        let steps = Array(changes.dropFirst())
        #expect(changes.first.map { "\($0.from)→\($0.to)" } == "Blue→Platinum")
        // A review is idempotent per date: the reruns of the day move nobody again.
        #expect(steps.map(\.to) == [run.tiers[0]])
        for change in steps {
            #expect(change.reason == "review: 1000 qualifying points in 30 days (\(run.policy.rawValue) policy)")
            #expect(change.at == review)
        }
        // With no qualifying points at all.
        let later = Fixtures.time("2026-06-01T00:00:00Z")
        _ = try t.ledger.reviewTiers(asOf: later, now: later)
        #expect(t.tier(alice) == (run.policy == .oneTier ? "Silver" : "Blue"))
        try t.checkEverything()
    }

    @Test("an earn reversal takes back its bonus in proportion and its qualifying points")
    func reversal() throws {
        var (t, r) = try ledger()
        try t.accept(r.earn(alice, 2_000, at: skyways, "2026-03-01T00:00:00Z"))  // Silver
        let earn = r.earn(alice, 2_000, at: skyways, "2026-03-02T00:00:00Z")
        #expect(try t.accept(earn) == 1_100)
        #expect(t.qualifying(alice, at: "2026-03-02T00:00:00Z") == 2_000)
        #expect(t.balance(alice) == 2_100)
        // 500 of 2,000 miles: 250 points and a quarter of the 100 bonus.
        #expect(try t.accept(r.reverse(earn, 500, "2026-03-05T00:00:00Z")) == -275)
        #expect(t.qualifying(alice, at: "2026-03-05T00:00:00Z") == 1_750)
        // 833 miles reversed, 1,167 stand: the member keeps ⌊1167/2⌋ = 583 points (167 taken)
        // and ⌊100 × 1167/2000⌋ = 58 bonus (17 taken).
        #expect(try t.accept(r.reverse(earn, 333, "2026-03-06T00:00:00Z")) == -184)
        #expect(t.qualifying(alice, at: "2026-03-06T00:00:00Z") == 1_583)
        // The rest: 583 points and 58 bonus; together exactly the earn.
        #expect(try t.accept(r.reverse(earn, nil, "2026-03-07T00:00:00Z")) == -641)
        #expect(t.balance(alice) == 1_000)
        #expect(t.lots(alice).map(\.points) == [1_000])
        #expect(t.lots(alice).allSatisfy { !$0.isBonus })
        #expect(t.ledger.outstanding(skyways) == 1_000)
        // The reversed day is gone from the qualifying days; the tier is for the review.
        #expect(try t.account(alice).qualifying.map(\.points) == [1_000])
        #expect(t.tier(alice) == "Silver")
        #expect(t.qualifying(alice, at: "2026-03-07T00:00:00Z") == 1_000)
        try t.checkEverything()
    }

    @Test(
        "a reversal takes back the upgrade its earn caused, to what the points left support; a review has nothing left to do"
    )
    func reversalThenReview() throws {
        var (t, r) = try ledger(policy: .toQualified)
        let earn = r.earn(alice, 7_000, at: skyways, "2026-03-01T00:00:00Z")
        try t.accept(earn)
        #expect(t.tier(alice) == "Gold")
        try t.accept(r.reverse(earn, 5_000, "2026-03-02T00:00:00Z"))
        #expect(t.qualifying(alice, at: "2026-03-02T00:00:00Z") == 1_000)
        #expect(t.tier(alice) == "Silver")
        let history = try t.store.tierChanges(member: alice)
        #expect(history.last?.reason.hasPrefix("reversal of ") == true)
        let review = Fixtures.time("2026-03-03T00:00:00Z")
        let changes = try t.ledger.reviewTiers(asOf: review, now: review)
        #expect(changes.isEmpty)
        try t.checkEverything()
    }
}
