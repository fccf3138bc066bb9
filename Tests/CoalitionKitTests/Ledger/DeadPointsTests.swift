import CoalitionKit
import CoalitionTestSupport
import Testing

@Suite("Ledger: points past their expiry are dead, whether or not expire has run")
struct DeadPointsTests {
    let skyways = Fixtures.skyways
    let harbor = Fixtures.harbor
    let marketplace = Fixtures.marketplace
    let alice = Fixtures.member(1)

    /// What a member and the issuers stand at, in the figures anyone is shown.
    struct Figures: Equatable {
        let live: Int64
        let pending: Int64
        let harbor: Int64
        let skyways: Int64
        let breakage: Int64
    }

    func figures(_ t: TestLedger, at time: String) -> Figures {
        let account = t.ledger.member(alice)!
        return Figures(
            live: account.balance(at: Fixtures.time(time)),
            pending: account.expiredPending(at: Fixtures.time(time)),
            // Outstanding: what the issuer account says, less what breakage ended.
            harbor: t.issuerLiability(harbor)
                - t.ledger.balance(of: AccountKey(Account.breakage(harbor), Account.points)),
            skyways: t.issuerLiability(skyways),
            breakage: t.ledger.balance(of: AccountKey(Account.breakage(harbor), Account.points))
        )
    }

    /// Harbor's 1,000-point lot of 2026-01-15 ends on 2027-07-09; Skyways' lot of 2027-06-01 lives on.
    func setup(expireFirst: Bool) throws -> (TestLedger, RecordMaker, LedgerRecord, LedgerRecord) {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: harbor, "2026-01-10T00:00:00Z"))
        let earn = r.earn(alice, 3_000, at: harbor, "2026-01-15T00:00:00Z")
        try t.accept(earn)
        let redeem = r.redeem(alice, 600, at: harbor, "2026-02-01T00:00:00Z")  // 200 of the lot
        try t.accept(redeem)
        try t.accept(r.earn(alice, 4_000, at: skyways, "2027-06-01T00:00:00Z"))  // 2,000
        if expireFirst {
            _ = try t.ledger.expire(
                asOf: Fixtures.time("2027-08-01T00:00:00Z"),
                now: Fixtures.time("2027-08-01T00:00:00Z")
            )
        }
        return (t, r, earn, redeem)
    }

    @Test("a dead lot is neither spent nor shown in the balance; it is shown apart until expire books it")
    func deadNotSpendableNorShown() throws {
        var (t, r, _, _) = try setup(expireFirst: false)
        let at = "2027-08-02T00:00:00Z"
        #expect(figures(t, at: at).live == 2_000)
        #expect(figures(t, at: at).pending == 800)
        try t.reject(r.redeem(alice, 6_000, at: skyways, at), .insufficientPoints)  // 3,000 > 2,000 live
        #expect(try t.accept(r.redeem(alice, 4_000, at: skyways, at)) == -2_000)
        #expect(figures(t, at: at).live == 0)
        try t.checkEverything(strict: false)
    }

    @Test("an earn reversal of a dead lot charges the member nothing, whether or not expire has run")
    func earnReversalOfDeadLot() throws {
        var outcomes: [Int64] = []
        var after: [Figures] = []
        for expireFirst in [true, false] {
            var (t, r, earn, _) = try setup(expireFirst: expireFirst)
            outcomes.append(try t.accept(r.reverse(earn, nil, "2027-08-02T00:00:00Z")))
            _ = try t.ledger.expire(
                asOf: Fixtures.time("2027-08-03T00:00:00Z"),
                now: Fixtures.time("2027-08-03T00:00:00Z")
            )
            after.append(figures(t, at: "2027-08-03T00:00:00Z"))
            try t.checkEverything()
        }
        // 800 of the earn's 1,000 points were dead; 200 the member spent while they lived.
        #expect(outcomes == [-200, -200])
        #expect(after[0] == after[1])
        #expect(after[0].live == 1_800)
    }

    @Test("a redemption reversal gives dead points back dead, whether or not expire has run")
    func redemptionReversalOfDeadLot() throws {
        var outcomes: [Int64] = []
        var after: [Figures] = []
        for expireFirst in [true, false] {
            var (t, r, _, redeem) = try setup(expireFirst: expireFirst)
            outcomes.append(try t.accept(r.reverse(redeem, nil, "2027-08-02T00:00:00Z")))
            _ = try t.ledger.expire(
                asOf: Fixtures.time("2027-08-03T00:00:00Z"),
                now: Fixtures.time("2027-08-03T00:00:00Z")
            )
            after.append(figures(t, at: "2027-08-03T00:00:00Z"))
            try t.checkEverything()
        }
        #expect(outcomes == [0, 0])
        #expect(after[0] == after[1])
        #expect(after[0].live == 2_000)
        #expect(after[0].pending == 0)
        #expect(after[0].harbor == 0)
    }
}
