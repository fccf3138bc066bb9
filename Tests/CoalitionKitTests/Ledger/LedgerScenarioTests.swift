import CoalitionKit
import CoalitionTestSupport
import Testing

@Suite("Ledger: earning, redeeming across brands, refusals")
struct LedgerScenarioTests {
    let skyways = Fixtures.skyways
    let harbor = Fixtures.harbor
    let marketplace = Fixtures.marketplace
    let roadrunner = Fixtures.roadrunner
    let alice = Fixtures.member(1)
    let bob = Fixtures.member(2)

    @Test("an earn makes a lot of the earning partner that expires after the points' lifetime")
    func earnMakesLot() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
        let points = try t.accept(r.earn(alice, 10_001, at: skyways, "2026-02-01T10:00:00Z"))
        #expect(points == 5_000)
        let lots = t.lots(alice)
        #expect(lots.count == 1)
        let lot = try #require(lots.first)
        #expect(lot.issuer == skyways)
        #expect(lot.points == 5_000)
        #expect(lot.member == alice)
        #expect(lot.earnedAt == Fixtures.time("2026-02-01T10:00:00Z"))
        #expect(lot.expiresAt == Fixtures.time("2026-02-01T10:00:00Z").adding(days: 540))
        #expect(lot.expiresAt == Fixtures.time("2027-07-26T10:00:00Z"))
        #expect(!lot.isBonus)
        #expect(t.balance(alice) == 5_000)
        #expect(t.issuerLiability(skyways) == 5_000)
        // The mile left over goes to the rounding account; the books balance per unit.
        let unit = "SKYWAYS.MILE"
        #expect(t.ledger.balance(of: AccountKey(Account.reported(skyways), unit)) == -10_001)
        #expect(t.ledger.balance(of: AccountKey(Account.converted(skyways), unit)) == 10_000)
        #expect(t.ledger.balance(of: AccountKey(Account.rounding(skyways), unit)) == 1)
        #expect(try t.obligations().isEmpty)
        let posting = try #require(try t.store.posting(seq: 2))
        #expect(posting.kind == .earn)
        #expect(posting.units == 10_001)
        #expect(posting.points == 5_000)
        #expect(posting.member == alice)
        #expect(posting.recordID == "R2")
        try t.checkEverything()
    }

    @Test("an earn converts at the rate in force when it occurred")
    func rateInForce() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: harbor, "2025-01-10T00:00:00Z"))
        #expect(try t.accept(r.earn(alice, 1_200, at: harbor, "2026-10-14T23:59:59Z")) == 400)
        #expect(try t.accept(r.earn(alice, 1_200, at: harbor, "2026-10-15T00:00:00Z")) == 300)
        try t.reject(r.earn(alice, 1_200, at: harbor, "2024-12-31T23:59:59Z"), .rateNotInForce)
        #expect(t.balance(alice) == 700)
        try t.checkEverything()
    }

    @Test("a cross-brand redemption makes the issuer owe the redeemer its redemption value")
    func crossBrand() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
        try t.accept(r.earn(alice, 10_000, at: skyways, "2026-02-01T10:00:00Z"))
        let redeem = r.redeem(alice, 9_000, at: harbor, "2026-03-01T12:00:00Z")
        #expect(try t.accept(redeem) == -3_000)
        #expect(t.balance(alice) == 2_000)
        #expect(t.lots(alice).map(\.points) == [2_000])
        let obligations = try t.obligations()
        #expect(obligations.count == 1)
        let o = try #require(obligations.first)
        #expect(o.debtor == skyways)
        #expect(o.creditor == harbor)
        #expect(o.currency.code == "EUR")
        #expect(o.amount == 3_300)  // 3,000 points × 0.011 EUR = 33.00 EUR
        #expect(o.points == 3_000)
        #expect(o.source == redeem.key)
        #expect(o.member == alice)
        #expect(o.occurredAt == redeem.occurredAt)
        #expect(o.cycle == nil)
        #expect(o.postingSeq == 3)
        #expect(t.ledger.balance(of: AccountKey(Account.receivable(harbor), "EUR")) == 3_300)
        #expect(t.ledger.balance(of: AccountKey(Account.payable(skyways), "EUR")) == -3_300)
        #expect(t.issuerLiability(skyways) == 2_000)
        #expect(t.issuerLiability(harbor) == 0)
        #expect(try t.store.obligations(causedBy: alice) == obligations)
        #expect(try t.store.obligations(causedBy: bob).isEmpty)
        try t.checkEverything()
    }

    @Test(
        "obligation values round half to even in the redeemer's minor units",
        arguments: [(100, 1, 1), (1_000, 10, 8), (3_000, 30, 26), (5_000, 50, 42), (7_000, 70, 60)]
            as [(Int64, Int64, Int64)]
    )
    func halfEvenValue(units: Int64, points: Int64, cents: Int64) throws {
        // Marketplace pays 0.0085 EUR a point: 10 points are 8.5 cents, 30 are 25.5.
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
        try t.accept(r.earn(alice, 1_000, at: skyways, "2026-02-01T00:00:00Z"))
        #expect(try t.accept(r.redeem(alice, units, at: marketplace, "2026-03-01T00:00:00Z")) == -points)
        let o = try #require(try t.obligations().first)
        #expect(o.amount == cents)
        #expect(o.points == points)
        #expect(o.currency.code == "EUR")
        try t.checkEverything()
    }

    @Test("a same-brand redemption makes no obligation")
    func sameBrand() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
        try t.accept(r.earn(alice, 10_000, at: skyways, "2026-02-01T00:00:00Z"))
        #expect(try t.accept(r.redeem(alice, 2_000, at: skyways, "2026-03-01T00:00:00Z")) == -1_000)
        #expect(try t.obligations().isEmpty)
        #expect(t.balance(alice) == 4_000)
        #expect(t.issuerLiability(skyways) == 4_000)
        #expect(t.ledger.state.accounts.keys.allSatisfy { !$0.account.hasPrefix("receivable:") })
        try t.checkEverything()
    }

    @Test("a redemption consumes the soonest-expiring lots first, whatever order they were made in")
    func soonestExpiringFirst() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
        // Harbor's lot is made first but earned later, so it expires later.
        try t.accept(r.earn(alice, 3_000, at: harbor, "2026-05-01T00:00:00Z"))
        try t.accept(r.earn(alice, 2_000, at: skyways, "2026-04-01T00:00:00Z"))
        #expect(t.lots(alice).map(\.issuer) == [skyways, harbor])
        #expect(try t.accept(r.redeem(alice, 75_000, at: roadrunner, "2026-06-01T00:00:00Z")) == -1_500)
        let lots = t.lots(alice)
        #expect(lots.count == 1)
        #expect(lots.first?.issuer == harbor)
        #expect(lots.first?.points == 500)
        let obligations = try t.obligations()
        #expect(obligations.map(\.debtor) == [skyways, harbor])
        #expect(obligations.map(\.points) == [1_000, 500])
        #expect(obligations.map(\.amount) == [1_000, 500])  // 1 US cent a point at Roadrunner
        #expect(obligations.allSatisfy { $0.creditor == roadrunner && $0.currency.code == "USD" })
        try t.checkEverything()
    }

    @Test("an expired lot cannot be spent")
    func expiredLotsAreSkipped() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2025-01-10T00:00:00Z"))
        try t.accept(r.earn(alice, 2_000, at: skyways, "2025-02-01T00:00:00Z"))  // expires 2026-07-26 (540 days)
        try t.accept(r.earn(alice, 3_000, at: harbor, "2026-02-01T00:00:00Z"))  // 1,000 points until 2027-07-26
        // At Harbor's 1/3: 4,004 HPT need 1,335 points; only the 1,000 Harbor points are alive.
        let tooMuch = r.redeem(alice, 4_004, at: harbor, "2026-08-01T00:00:00Z")
        let error = try t.reject(tooMuch, .insufficientPoints)
        #expect(error?.message.contains("has 1000") == true)
        #expect(try t.accept(r.redeem(alice, 3_000, at: harbor, "2026-08-01T00:00:00Z")) == -1_000)
        #expect(t.lots(alice).map(\.issuer) == [skyways])
        #expect(try t.obligations().isEmpty)
        try t.checkEverything()
    }

    @Test("insufficient points: INSUFFICIENT_POINTS, and nothing changes but the batch log")
    func insufficient() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
        try t.accept(r.earn(alice, 2_000, at: skyways, "2026-02-01T00:00:00Z"))
        let before = StateImage(t.ledger.state, includingBatchLog: false)
        let postings = t.store.content.postings
        let error = try t.reject(r.redeem(alice, 3_003, at: harbor, "2026-03-01T00:00:00Z"), .insufficientPoints)
        #expect(error?.message.contains("1001") == true)
        #expect(StateImage(t.ledger.state, includingBatchLog: false) == before)
        #expect(t.store.content.postings == postings)
        #expect(t.store.content.lots.values.map(\.points) == [1_000])
        #expect(try t.obligations().isEmpty)
        #expect(try t.accept(r.redeem(alice, 3_000, at: harbor, "2026-03-01T00:00:00Z")) == -1_000)
        #expect(t.balance(alice) == 0)
        #expect(t.lots(alice).isEmpty)
        try t.checkEverything()
    }

    @Test("records for a member who is not enrolled are UNKNOWN_MEMBER; enrolling twice is MEMBER_EXISTS")
    func unknownMember() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.reject(r.earn(bob, 1_000, at: skyways, "2026-02-01T00:00:00Z"), .unknownMember)
        try t.reject(r.redeem(bob, 1_000, at: skyways, "2026-02-01T00:00:00Z"), .unknownMember)
        try t.accept(r.enroll(bob, at: skyways, "2026-01-10T00:00:00Z"))
        try t.reject(r.enroll(bob, at: harbor, "2026-01-11T00:00:00Z"), .memberExists)
        #expect(t.ledger.member(bob)?.enrolledBy == skyways)
        #expect(t.ledger.member(bob)?.enrolledAt == Fixtures.time("2026-01-10T00:00:00Z"))
        #expect(t.ledger.state.members.count == 1)
        try t.checkEverything()
    }

    @Test("amounts outside 1 to a trillion are BAD_AMOUNT", arguments: [0, -1, maximumRecordAmount + 1, Int64.min])
    func badAmount(units: Int64) throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
        try t.reject(r.earn(alice, units, at: skyways, "2026-02-01T00:00:00Z"), .badAmount)
        try t.reject(r.redeem(alice, units, at: skyways, "2026-02-01T00:00:00Z"), .badAmount)
        #expect(
            try t.accept(r.earn(alice, maximumRecordAmount, at: skyways, "2026-02-01T00:00:00Z"))
                == maximumRecordAmount / 2
        )
        try t.checkEverything()
    }

    @Test("a record of a partner the network does not have is UNKNOWN_PARTNER")
    func unknownPartner() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.reject(r.enroll(alice, at: try PartnerID("NOBODY"), "2026-01-10T00:00:00Z"), .unknownPartner)
        #expect(t.ledger.state.members.isEmpty)
    }

    @Test("a record id applies once: a duplicate in the same batch or a later one is DUPLICATE_RECORD")
    func duplicates() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        let outcomes = try t.apply([
            r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z", id: "S-1"),
            r.earn(alice, 1_000, at: skyways, "2026-02-01T00:00:00Z", id: "S-1"),
            r.earn(alice, 1_000, at: skyways, "2026-02-01T00:00:00Z", id: "S-2"),
            r.earn(alice, 4_000, at: skyways, "2026-02-01T00:00:00Z", id: "S-2"),
        ])
        #expect(outcomes[0] == .accepted(points: 0))
        #expect(outcomes[2] == .accepted(points: 500))
        for index in [1, 3] {
            guard case .rejected(let error) = outcomes[index] else {
                Issue.record("record \(index) was accepted")
                continue
            }
            #expect(error.code == .duplicateRecord)
            #expect(error.place.recordID == (index == 1 ? "S-1" : "S-2"))
        }
        let before = StateImage(t.ledger.state, includingBatchLog: false)
        try t.reject(r.earn(alice, 1_000, at: skyways, "2026-02-02T00:00:00Z", id: "S-2"), .duplicateRecord)
        try t.reject(r.redeem(alice, 2, at: skyways, "2026-02-02T00:00:00Z", id: "S-1"), .duplicateRecord)
        #expect(StateImage(t.ledger.state, includingBatchLog: false) == before)
        // Record ids are unique per partner: another partner may use the same one.
        #expect(try t.accept(r.earn(alice, 3_000, at: harbor, "2026-02-02T00:00:00Z", id: "S-2")) == 1_000)
        #expect(t.balance(alice) == 1_500)
        try t.checkEverything()
    }

    @Test("a failed commit changes nothing, in memory or in the store, and the next batch works")
    func failedCommit() throws {
        var t = try TestLedger()
        var control = try TestLedger()
        var r = RecordMaker()
        let first = [
            r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"),
            r.earn(alice, 10_000, at: skyways, "2026-02-01T00:00:00Z"),
        ]
        let second = [
            r.redeem(alice, 3_000, at: harbor, "2026-03-01T00:00:00Z"),
            r.enroll(bob, at: harbor, "2026-03-01T00:00:00Z"),
            r.earn(bob, 900, at: harbor, "2026-03-02T00:00:00Z"),
        ]
        try t.apply(first)
        try control.apply(first)
        let before = StateImage(t.ledger.state)
        let content = t.store.content
        t.store.failNextCommit = true
        let error = expectError(.storeFailure) {
            try t.ledger.apply(second, info: BatchInfo(source: "x", receivedAt: .init(seconds: 0)))
        }
        #expect(error != nil)
        #expect(StateImage(t.ledger.state) == before)
        #expect(t.store.content == content)
        #expect(t.balance(alice) == 5_000)
        #expect(t.ledger.member(bob) == nil)
        let outcomes = try t.apply(second)
        let controlOutcomes = try control.apply(second)
        #expect(outcomes == controlOutcomes)
        #expect(outcomes == [.accepted(points: -1_000), .accepted(points: 0), .accepted(points: 300)])
        #expect(StateImage(t.ledger.state) == StateImage(control.ledger.state))
        #expect(t.store.content == control.store.content)
        try t.checkEverything()
    }

    @Test("a batch whose body fails after applying chunks leaves memory and store as they were")
    func failedBatchBody() throws {
        let t = try TestLedger()
        var r = RecordMaker()
        try t.ledger.apply(
            [r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z")],
            info: BatchInfo(source: "file:a", receivedAt: .init(seconds: 0))
        )
        let before = StateImage(t.ledger.state)
        let content = t.store.content
        #expect(throws: CoalitionError.self) {
            try t.ledger.batch(BatchInfo(source: "file:b", receivedAt: .init(seconds: 0))) { session in
                _ = try session.apply([r.earn(alice, 10, at: skyways, "2026-01-11T00:00:00Z")])
                _ = try session.apply([r.earn(alice, 20, at: skyways, "2026-01-11T00:00:00Z")])
                throw CoalitionError(.trailerTotalMismatch, "found at the end of the file")
            }
        }
        #expect(StateImage(t.ledger.state) == before)
        #expect(t.store.content == content)
        #expect(t.store.commits == 1)
        // And the ledger goes on.
        try t.ledger.apply(
            [r.earn(alice, 10, at: skyways, "2026-01-11T00:00:00Z")],
            info: BatchInfo(source: "file:c", receivedAt: .init(seconds: 0))
        )
        #expect(t.ledger.member(alice)?.balance == 5)
    }

    @Test("a new Ledger over the same store loads the state back")
    func reopen() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.apply([
            r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"),
            r.earn(alice, 10_000, at: skyways, "2026-02-01T00:00:00Z"),
            r.earn(alice, 9_000, at: harbor, "2026-02-02T00:00:00Z"),
            r.redeem(alice, 2_000, at: marketplace, "2026-02-03T00:00:00Z"),
        ])
        let reopened = try Ledger(network: Fixtures.network, store: t.store)
        #expect(StateImage(reopened.state) == StateImage(t.ledger.state))
        #expect(try Audit.run(reopened).isClean)
    }

    @Test("a member who owes a debt may still hold lots that expired: they cannot repay it")
    func debtBesideExpiredLot() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2025-01-10T00:00:00Z"))
        try t.accept(r.earn(alice, 2_000, at: skyways, "2025-02-01T00:00:00Z"))  // expires 2026-07-26
        let earn = r.earn(alice, 3_000, at: harbor, "2026-08-01T00:00:00Z")
        try t.accept(earn)
        try t.accept(r.redeem(alice, 3_000, at: harbor, "2026-08-02T00:00:00Z"))  // Harbor's own points
        #expect(try t.accept(r.reverse(earn, nil, "2026-08-03T00:00:00Z")) == -1_000)
        #expect(t.lots(alice).map(\.issuer) == [skyways])
        #expect(t.debts(alice).map(\.points) == [-1_000])
        #expect(t.balance(alice) == 0)
        // The expired Skyways lot is no way to repay Harbor: the audit must not call this a fault.
        #expect(throws: CoalitionError.self) { try Invariants.check(t.ledger.state) }
        #expect(throws: Never.self) {
            try Invariants.check(t.ledger.state, asOf: Fixtures.time("2026-08-03T00:00:00Z"))
        }
        let early = Fixtures.time("2026-07-25T23:59:59Z")
        #expect(throws: CoalitionError.self) { try Invariants.check(t.ledger.state, asOf: early) }
        try t.checkEverything(strict: false)
        // A later earn repays the debt from its own points; the expired lot stays as it was.
        #expect(try t.accept(r.earn(alice, 3_000, at: skyways, "2026-09-01T00:00:00Z")) == 1_500)
        #expect(t.debts(alice).isEmpty)
        #expect(t.lots(alice).map(\.points) == [1_000, 500])
        #expect(try t.owed(skyways, harbor) == 1_100)
        try t.checkEverything()
    }
}
