import CoalitionKit
import CoalitionTestSupport
import Testing

@Suite("Ledger: reversals of earns and redemptions")
struct ReversalTests {
    let skyways = Fixtures.skyways
    let harbor = Fixtures.harbor
    let marketplace = Fixtures.marketplace
    let roadrunner = Fixtures.roadrunner
    let alice = Fixtures.member(1)

    /// The balances of every account in a partner's own unit.
    func unitAccounts(_ t: TestLedger, _ unit: String) -> [Int64] {
        t.ledger.state.accounts.filter { $0.key.unit == unit }.map(\.value)
    }

    @Test("a full reversal of an earn takes its points back")
    func fullEarnReversal() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: harbor, "2026-01-10T00:00:00Z"))
        let earn = r.earn(alice, 10_000, at: harbor, "2026-02-01T00:00:00Z")
        #expect(try t.accept(earn) == 3_333)
        #expect(try t.accept(r.reverse(earn, nil, "2026-02-03T00:00:00Z")) == -3_333)
        #expect(t.balance(alice) == 0)
        #expect(t.lots(alice).isEmpty)
        #expect(t.debts(alice).isEmpty)
        #expect(t.issuerLiability(harbor) == 0)
        #expect(unitAccounts(t, "HARBOR.HPT").allSatisfy { $0 == 0 })
        #expect(try t.ledger.record(earn.key)?.reversedUnits == 10_000)
        try t.checkEverything()
    }

    @Test("partial reversals of an earn telescope to exactly the points it gave")
    func partialEarnReversals() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: harbor, "2026-01-10T00:00:00Z"))
        let earn = r.earn(alice, 10_000, at: harbor, "2026-02-01T00:00:00Z")
        try t.accept(earn)
        // 1 HPT is a third of a point: nothing to take back yet.
        #expect(try t.accept(r.reverse(earn, 1, "2026-02-02T00:00:00Z")) == 0)
        // 5,000 HPT still stand: the member keeps ⌊5,000 ÷ 3⌋ = 1,666 points, not a point more.
        #expect(try t.accept(r.reverse(earn, 4_999, "2026-02-03T00:00:00Z")) == -1_667)
        #expect(t.balance(alice) == 1_666)
        #expect(t.lots(alice).map(\.points) == [1_666])
        let error = try t.reject(r.reverse(earn, 5_001, "2026-02-04T00:00:00Z"), .reversalExceedsOriginal)
        #expect(error?.message.contains("only 5000 left") == true)
        try t.reject(r.reverse(earn, 0, "2026-02-04T00:00:00Z"), .badAmount)
        #expect(try t.accept(r.reverse(earn, 5_000, "2026-02-05T00:00:00Z")) == -1_666)
        #expect(t.balance(alice) == 0)
        #expect(t.lots(alice).isEmpty)
        #expect(unitAccounts(t, "HARBOR.HPT").allSatisfy { $0 == 0 })
        try t.reject(r.reverse(earn, nil, "2026-02-06T00:00:00Z"), .alreadyReversed)
        try t.reject(r.reverse(earn, 1, "2026-02-06T00:00:00Z"), .alreadyReversed)
        try t.checkEverything()
    }

    @Test("partial earn reversals telescope for generated amounts and splits")
    func generatedEarnSplits() throws {
        var random = SeededGenerator(seed: 0x7E1E)
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: harbor, "2026-01-10T00:00:00Z"))
        for _ in 0..<60 {
            let units = Int64.random(in: 1...100_000, using: &random)
            let partner = [harbor, skyways, marketplace, roadrunner].randomElement(using: &random)!
            let earn = r.earn(alice, units, at: partner, "2026-02-01T00:00:00Z")
            let before = t.balance(alice)
            let points = try t.accept(earn)
            var left = units
            var taken: Int64 = 0
            while left > 0 {
                let part = random.chance(30) ? left : Int64.random(in: 1...left, using: &random)
                taken -= try t.accept(
                    r.reverse(earn, part == left && random.chance(50) ? nil : part, "2026-03-01T00:00:00Z")
                )
                left -= part
            }
            #expect(taken == points, "\(units) units at \(partner)")
            #expect(t.balance(alice) == before)
            try t.reject(r.reverse(earn, nil, "2026-03-02T00:00:00Z"), .alreadyReversed)
        }
        #expect(t.balance(alice) == 0)
        #expect(t.ledger.state.accounts.values.allSatisfy { $0 == 0 })
        try t.checkEverything()
    }

    @Test("what cannot be reversed: a reversal, an enrollment, an unknown or another partner's record")
    func notReversible() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        let enroll = r.enroll(alice, at: harbor, "2026-01-10T00:00:00Z")
        try t.accept(enroll)
        let earn = r.earn(alice, 10_000, at: harbor, "2026-02-01T00:00:00Z")
        try t.accept(earn)
        let reversal = r.reverse(earn, 3, "2026-02-02T00:00:00Z")
        try t.accept(reversal)
        try t.reject(r.reverse(reversal, nil, "2026-02-03T00:00:00Z"), .notReversible)
        try t.reject(r.reverse(enroll, nil, "2026-02-03T00:00:00Z"), .notReversible)
        try t.reject(
            LedgerRecord(
                key: r.key(harbor),
                occurredAt: Fixtures.time("2026-02-03T00:00:00Z"),
                body: .reverse(original: "NO-SUCH-RECORD", units: nil)
            ),
            .unknownOriginal
        )
        try t.reject(
            LedgerRecord(
                key: r.key(skyways),
                occurredAt: Fixtures.time("2026-02-03T00:00:00Z"),
                body: .reverse(original: earn.key.recordID, units: nil)
            ),
            .unknownOriginal
        )
        let badOriginal = try t.reject(
            LedgerRecord(
                key: r.key(harbor),
                occurredAt: Fixtures.time("2026-02-03T00:00:00Z"),
                body: .reverse(original: "bad id", units: nil)
            ),
            .badRecordID
        )
        #expect(badOriginal?.place.field == "original")
        #expect(t.balance(alice) == 3_332)
        try t.checkEverything()
    }

    @Test("an earn and its reversal in the same batch")
    func sameBatch() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        let earn = r.earn(alice, 3_000, at: harbor, "2026-02-01T00:00:00Z")
        let outcomes = try t.apply([
            r.enroll(alice, at: harbor, "2026-01-10T00:00:00Z"), earn, r.reverse(earn, 1_500, "2026-02-02T00:00:00Z"),
            r.reverse(earn, 1_501, "2026-02-02T00:00:00Z"), r.reverse(earn, nil, "2026-02-02T00:00:00Z"),
        ])
        #expect(outcomes.prefix(3) == [.accepted(points: 0), .accepted(points: 1_000), .accepted(points: -500)])
        guard case .rejected(let error) = outcomes[3] else {
            Issue.record("a reversal beyond what is left was accepted")
            return
        }
        #expect(error.code == .reversalExceedsOriginal)
        #expect(outcomes[4] == .accepted(points: -500))
        #expect(t.balance(alice) == 0)
        try t.checkEverything()
    }

    @Test("an earn reversal after the points were spent across brands leaves a debt that later earnings repay first")
    func debtAfterCrossBrandSpend() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
        let earn = r.earn(alice, 10_000, at: skyways, "2026-02-01T00:00:00Z")
        try t.accept(earn)
        try t.accept(r.redeem(alice, 15_000, at: harbor, "2026-03-01T00:00:00Z"))
        #expect(try t.owed(skyways, harbor) == 5_500)
        #expect(try t.accept(r.reverse(earn, nil, "2026-04-01T00:00:00Z")) == -5_000)
        #expect(t.balance(alice) == -5_000)
        #expect(t.lots(alice).isEmpty)
        let debt = try #require(t.debts(alice).first)
        #expect(debt.points == -5_000)
        #expect(debt.issuer == skyways)
        #expect(debt.expiresAt == Lot.never)
        #expect(t.issuerLiability(skyways) == -5_000)
        // The obligation of the redemption stands: Harbor gave the member a hotel night.
        #expect(try t.owed(skyways, harbor) == 5_500)
        try t.checkEverything()

        // A redemption while in debt is refused.
        try t.reject(r.redeem(alice, 3, at: harbor, "2026-04-02T00:00:00Z"), .insufficientPoints)

        // A smaller earn elsewhere repays part of the debt; the new issuer owes the debt's issuer.
        #expect(try t.accept(r.earn(alice, 200_000, at: marketplace, "2026-05-01T00:00:00Z")) == 2_000)
        #expect(t.balance(alice) == -3_000)
        #expect(t.lots(alice).isEmpty)
        #expect(t.debts(alice).map(\.points) == [-3_000])
        #expect(try t.owed(marketplace, skyways) == 2_400)  // 2,000 points × 0.012 USD
        #expect(t.issuerLiability(marketplace) == 0)
        #expect(t.issuerLiability(skyways) == -3_000)
        try t.checkEverything()

        // A larger one repays the rest and leaves the member the difference.
        #expect(try t.accept(r.earn(alice, 1_000_000, at: marketplace, "2026-05-02T00:00:00Z")) == 10_000)
        #expect(t.balance(alice) == 7_000)
        #expect(t.debts(alice).isEmpty)
        #expect(t.lots(alice).map(\.points) == [7_000])
        #expect(t.lots(alice).map(\.issuer) == [marketplace])
        #expect(try t.owed(marketplace, skyways) == 6_000)
        #expect(t.issuerLiability(skyways) == 0)
        #expect(t.issuerLiability(marketplace) == 7_000)
        try t.checkEverything()
    }

    @Test("a debt repaid by its own issuer's points makes no obligation")
    func debtRepaidBySameIssuer() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
        let earn = r.earn(alice, 2_000, at: skyways, "2026-02-01T00:00:00Z")
        try t.accept(earn)
        try t.accept(r.redeem(alice, 2_000, at: skyways, "2026-02-02T00:00:00Z"))
        try t.accept(r.reverse(earn, nil, "2026-02-03T00:00:00Z"))
        #expect(t.balance(alice) == -1_000)
        #expect(try t.accept(r.earn(alice, 3_000, at: skyways, "2026-02-04T00:00:00Z")) == 1_500)
        #expect(t.balance(alice) == 500)
        #expect(t.debts(alice).isEmpty)
        #expect(try t.obligations().isEmpty)
        try t.checkEverything()
    }

    @Test("an earn reversal takes from the earn's own lot, then other lots (which then owe), then makes a debt")
    func earnReversalOrder() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
        try t.accept(r.earn(alice, 100_000, at: marketplace, "2026-01-20T00:00:00Z"))  // 1,000 points
        let earn = r.earn(alice, 10_000, at: skyways, "2026-02-01T00:00:00Z")  // 5,000 points
        try t.accept(earn)
        try t.accept(r.redeem(alice, 6_000, at: harbor, "2026-03-01T00:00:00Z"))  // 2,000: Marketplace's first
        #expect(t.lots(alice).map(\.points) == [4_000])
        #expect(try t.owed(marketplace, harbor) == 1_100)
        #expect(try t.owed(skyways, harbor) == 1_100)
        try t.accept(r.earn(alice, 50_000, at: marketplace, "2026-03-02T00:00:00Z"))  // 500 points
        #expect(try t.accept(r.reverse(earn, nil, "2026-04-01T00:00:00Z")) == -5_000)
        // 4,000 from the earn's lot, 500 from Marketplace's (Marketplace owes Skyways 600 cents),
        // 500 owed.
        #expect(t.lots(alice).isEmpty)
        #expect(t.debts(alice).map(\.points) == [-500])
        #expect(try t.owed(marketplace, skyways) == 600)
        #expect(t.issuerLiability(marketplace) == 0)
        #expect(t.issuerLiability(skyways) == -500)
        try t.checkEverything()
    }

    /// Alice holds 1,001 Skyways points and 1,000 Harbor points; she spends 1,501 at Marketplace.
    func redemptionSetup(_ t: inout TestLedger, _ r: inout RecordMaker) throws -> LedgerRecord {
        try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
        try t.accept(r.earn(alice, 2_002, at: skyways, "2026-02-01T00:00:00Z"))
        try t.accept(r.earn(alice, 3_000, at: harbor, "2026-03-01T00:00:00Z"))
        let redeem = r.redeem(alice, 150_100, at: marketplace, "2026-04-01T00:00:00Z")
        #expect(try t.accept(redeem) == -1_501)
        #expect(try t.owed(skyways, marketplace) == 851)  // 1,001 × 0.85 cents = 850.85
        #expect(try t.owed(harbor, marketplace) == 425)  // 500 × 0.85 cents
        return redeem
    }

    /// Points per (issuer, earned, expires): what a member holds, however it is split in lots.
    func holdings(_ lots: [Lot]) -> [String: Int64] {
        var out: [String: Int64] = [:]
        for lot in lots { out["\(lot.issuer) \(lot.earnedAt) \(lot.expiresAt)", default: 0] += lot.points }
        return out
    }

    @Test("a full redemption reversal restores the lots and exactly cancels the obligations")
    func fullRedemptionReversal() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
        try t.accept(r.earn(alice, 2_002, at: skyways, "2026-02-01T00:00:00Z"))
        try t.accept(r.earn(alice, 3_000, at: harbor, "2026-03-01T00:00:00Z"))
        let held = holdings(t.lots(alice))
        let redeem = r.redeem(alice, 150_100, at: marketplace, "2026-04-01T00:00:00Z")
        #expect(try t.accept(redeem) == -1_501)
        let original = try t.obligations()
        #expect(original.map(\.amount) == [851, 425])
        #expect(try t.accept(r.reverse(redeem, nil, "2026-04-05T00:00:00Z")) == 1_501)
        #expect(t.balance(alice) == 2_001)
        #expect(holdings(t.lots(alice)) == held)
        let reversing = try t.obligations().dropFirst(2)
        #expect(reversing.map(\.amount) == [-425, -851])
        #expect(reversing.map(\.points) == [-500, -1_001])
        #expect(reversing.map(\.debtor) == [harbor, skyways])
        #expect(reversing.allSatisfy { $0.creditor == marketplace && $0.currency.code == "EUR" })
        #expect(try t.owed(skyways, marketplace) == 0)
        #expect(try t.owed(harbor, marketplace) == 0)
        #expect(t.ledger.balance(of: AccountKey(Account.receivable(marketplace), "EUR")) == 0)
        #expect(t.issuerLiability(skyways) == 1_001)
        #expect(t.issuerLiability(harbor) == 1_000)
        #expect(unitAccounts(t, "MARKETPLACE.EURC").allSatisfy { $0 == 0 })
        try t.reject(r.reverse(redeem, nil, "2026-04-06T00:00:00Z"), .alreadyReversed)
        try t.checkEverything()
    }

    @Test("partial redemption reversals restore the last-consumed points first and telescope the obligations")
    func partialRedemptionReversals() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        let redeem = try redemptionSetup(&t, &r)
        let skywaysLot = "SKYWAYS 2026-02-01T00:00:00Z 2027-07-26T00:00:00Z"
        let harborLot = "HARBOR 2026-03-01T00:00:00Z 2027-08-23T00:00:00Z"
        #expect(holdings(t.lots(alice)) == [harborLot: 500])

        // 116,767 units still stand: the member still pays ⌈1,167.67⌉ = 1,168 points for them.
        #expect(try t.accept(r.reverse(redeem, 33_333, "2026-04-02T00:00:00Z")) == 333)
        #expect(holdings(t.lots(alice)) == [harborLot: 833])
        #expect(try t.obligations().last?.amount == -283)  // 333 × 0.85 = 283.05

        #expect(try t.accept(r.reverse(redeem, 50_001, "2026-04-03T00:00:00Z")) == 500)
        #expect(holdings(t.lots(alice)) == [harborLot: 1_000, skywaysLot: 333])
        #expect(try t.owed(harbor, marketplace) == 0)  // 425 − 283 − 142
        #expect(try t.owed(skyways, marketplace) == 851 - 283)

        #expect(try t.accept(r.reverse(redeem, nil, "2026-04-04T00:00:00Z")) == 668)
        #expect(holdings(t.lots(alice)) == [harborLot: 1_000, skywaysLot: 1_001])
        #expect(try t.owed(skyways, marketplace) == 0)
        #expect(try t.owed(harbor, marketplace) == 0)
        #expect(try t.ledger.record(redeem.key)?.reversedUnits == 150_100)
        try t.checkEverything()
    }

    @Test("redemption reversals telescope for generated splits")
    func generatedRedemptionSplits() throws {
        var random = SeededGenerator(seed: 0x2ED5)
        for round in 0..<25 {
            var t = try TestLedger()
            var r = RecordMaker()
            try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
            let partners = [harbor, skyways, marketplace, roadrunner]
            for day in 1...6 {
                let partner = partners.randomElement(using: &random)!
                try t.accept(
                    r.earn(
                        alice,
                        Int64.random(in: 1...50_000, using: &random),
                        at: partner,
                        "2026-02-0\(day)T00:00:00Z"
                    )
                )
            }
            let held = holdings(t.lots(alice))
            let redeemer = partners.randomElement(using: &random)!
            let available = t.balance(alice)
            guard available > 0 else { continue }
            let rate = try Fixtures.network.partner(redeemer).earnRate(at: Fixtures.time("2026-03-01T00:00:00Z"))
            let units = try Rate.unitsFor(
                points: Int64.random(in: 1...available, using: &random),
                rate: rate,
                rounding: .down
            )
            guard units > 0 else { continue }
            let redeem = r.redeem(alice, units, at: redeemer, "2026-03-01T00:00:00Z")
            let spent = try t.accept(redeem)
            var left = units
            var restored: Int64 = 0
            while left > 0 {
                let part = random.chance(25) ? left : Int64.random(in: 1...left, using: &random)
                restored += try t.accept(r.reverse(redeem, part, "2026-03-02T00:00:00Z"))
                left -= part
            }
            #expect(restored == -spent, "round \(round)")
            #expect(holdings(t.lots(alice)) == held, "round \(round)")
            for issuer in partners {
                #expect(try t.owed(issuer, redeemer) == 0, "round \(round): \(issuer) → \(redeemer)")
            }
            try t.checkEverything()
        }
    }

    @Test("a redemption reversal for a member in debt repays the debt from the restored points")
    func redemptionReversalRepaysDebt() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
        let earn = r.earn(alice, 2_000, at: skyways, "2026-02-01T00:00:00Z")
        try t.accept(earn)
        let redeem = r.redeem(alice, 3_000, at: harbor, "2026-02-02T00:00:00Z")
        try t.accept(redeem)
        try t.accept(r.earn(alice, 50_000, at: marketplace, "2026-02-03T00:00:00Z"))
        try t.accept(r.reverse(earn, nil, "2026-02-04T00:00:00Z"))
        #expect(t.debts(alice).map(\.points) == [-500])
        #expect(try t.owed(marketplace, skyways) == 600)
        #expect(try t.accept(r.reverse(redeem, nil, "2026-02-05T00:00:00Z")) == 1_000)
        #expect(t.balance(alice) == 500)
        #expect(t.debts(alice).isEmpty)
        #expect(t.lots(alice).map(\.issuer) == [skyways])
        #expect(t.lots(alice).map(\.points) == [500])
        #expect(try t.owed(skyways, harbor) == 0)
        #expect(try t.owed(marketplace, skyways) == 600)
        #expect(t.issuerLiability(skyways) == 500)
        try t.checkEverything()
    }
}
