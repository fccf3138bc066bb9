import CoalitionKit
import CoalitionTestSupport
import Testing

@Suite("Members: transfers between members, their idempotency and their limits")
struct TransferTests {
    let skyways = Fixtures.skyways
    let harbor = Fixtures.harbor
    let marketplace = Fixtures.marketplace
    let alice = Fixtures.member(1)
    let bob = Fixtures.member(2)
    let carol = Fixtures.member(3)

    /// A ledger on `network` with alice, bob and carol enrolled, alice holding `points`
    /// SKYWAYS points earned on 2026-01-05.
    func ledger(_ network: Network, alicePoints points: Int64 = 100_000) throws -> (TestLedger, RecordMaker) {
        var t = try TestLedger(network: network)
        var r = RecordMaker()
        for member in [alice, bob, carol] { try t.accept(r.enroll(member, at: skyways, "2026-01-02T00:00:00Z")) }
        if points > 0 { try t.accept(r.earn(alice, 2 * points, at: skyways, "2026-01-05T00:00:00Z")) }
        return (t, r)
    }

    struct LotShape: Equatable, CustomStringConvertible {
        let issuer: PartnerID
        let points: Int64
        let earnedAt: Timestamp
        let expiresAt: Timestamp
        let isBonus: Bool

        init(_ lot: Lot) {
            self.init(lot.issuer, lot.points, lot.earnedAt, lot.expiresAt, lot.isBonus)
        }

        init(_ issuer: PartnerID, _ points: Int64, _ earnedAt: Timestamp, _ expiresAt: Timestamp, _ isBonus: Bool) {
            self.issuer = issuer
            self.points = points
            self.earnedAt = earnedAt
            self.expiresAt = expiresAt
            self.isBonus = isBonus
        }

        var description: String { "\(issuer) \(points) \(earnedAt)…\(expiresAt)\(isBonus ? " bonus" : "")" }
    }

    @Test("lots move soonest-expiring first, keeping issuer, earned-at, expiry and bonus flag; no obligation")
    func lotsMove() throws {
        let network = MemberNetworks.make(tierWindowDays: 365)
        var t = try TestLedger(network: network)
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-02T00:00:00Z"))
        try t.accept(r.enroll(bob, at: harbor, "2026-01-02T00:00:00Z"))
        // 1,000 HARBOR points: exactly Silver. Then MARKETPLACE 1,500 with a 150 bonus, and
        // SKYWAYS 1,000 with a 100 bonus (which makes alice Gold).
        let january = Fixtures.time("2026-01-10T08:00:00Z")
        let february = Fixtures.time("2026-02-01T09:00:00Z")
        let march = Fixtures.time("2026-03-01T10:00:00Z")
        #expect(try t.accept(r.earn(alice, 3_000, at: harbor, "2026-01-10T08:00:00Z")) == 1_000)
        #expect(try t.accept(r.earn(alice, 150_000, at: marketplace, "2026-02-01T09:00:00Z")) == 1_650)
        #expect(try t.accept(r.earn(alice, 2_000, at: skyways, "2026-03-01T10:00:00Z")) == 1_100)
        #expect(t.tier(alice) == "Gold")
        let before = Dictionary(
            uniqueKeysWithValues: [skyways, harbor, marketplace].map { ($0, t.ledger.outstanding($0)) }
        )
        let aliceLotIDs = Set(t.lots(alice).map(\.id))

        let result = try t.transfer(alice, bob, 2_700, "2026-04-01T00:00:00Z")
        #expect(!result.isReplay)
        #expect(result.points == 2_700)
        #expect(result.fee == 0)

        func expiry(_ time: Timestamp) -> Timestamp { time.adding(days: 540) }
        #expect(
            t.lots(bob).map(LotShape.init) == [
                LotShape(harbor, 1_000, january, expiry(january), false),
                LotShape(marketplace, 1_500, february, expiry(february), false),
                LotShape(marketplace, 150, february, expiry(february), true),
                LotShape(skyways, 50, march, expiry(march), false),
            ]
        )
        #expect(
            t.lots(alice).map(LotShape.init) == [
                LotShape(skyways, 950, march, expiry(march), false),
                LotShape(skyways, 100, march, expiry(march), true),
            ]
        )
        // The receiver's lots are new lots of its own, not the sender's.
        #expect(t.lots(bob).allSatisfy { $0.member == bob && !aliceLotIDs.contains($0.id) })
        #expect(t.balance(alice) == 1_050)
        #expect(t.balance(bob) == 2_700)
        // No partner owes another, and no issuer's liability moved.
        #expect(try t.obligations().isEmpty)
        for (issuer, outstanding) in before { #expect(t.ledger.outstanding(issuer) == outstanding, "\(issuer)") }
        #expect(!t.ledger.state.accounts.keys.contains { $0.account.hasPrefix("receivable:") })
        // Transfers in neither qualify for tiers nor change the receiver's tier.
        #expect(t.qualifying(bob, at: "2026-04-01T00:00:00Z") == 0)
        #expect(t.tier(bob) == "Blue")
        #expect(t.qualifying(alice, at: "2026-04-01T00:00:00Z") == 3_500)

        let posting = try #require(try t.store.posting(seq: result.seq))
        #expect(posting.kind == .transfer)
        #expect(posting.partner == .transfers)
        #expect(posting.member == alice)
        #expect(posting.counterparty == bob)
        #expect(posting.units == 2_700)
        #expect(posting.points == -2_700)
        #expect(posting.legs.contains(Leg(Account.member(alice), Account.points, -2_700)))
        #expect(posting.legs.contains(Leg(Account.member(bob), Account.points, 2_700)))
        #expect(posting.legs.count == 2)
        #expect(t.ledger.member(alice)?.transfers == [TransferMark(at: posting.occurredAt, points: 2_700, sent: true)])
        #expect(t.ledger.member(bob)?.transfers == [TransferMark(at: posting.occurredAt, points: 2_700, sent: false)])
        t.expectLotsTraceToIssuers()
        try t.checkEverything()
    }

    @Test("a lot past its expiry is not transferred, even before the expiry run ends it")
    func expiredLotsStay() throws {
        var (t, r) = try ledger(MemberNetworks.make(lifetimeDays: 10, tiers: [MemberNetworks.blue]), alicePoints: 1_000)
        try t.accept(r.earn(alice, 600, at: harbor, "2026-01-12T00:00:00Z"))  // 200, until 01-22
        // On 2026-01-15 the SKYWAYS lot (until 01-15) has just expired: only 200 can move.
        let error = t.refuseTransfer(alice, bob, 201, "2026-01-15T00:00:00Z", .insufficientPoints)
        #expect(error?.message.contains("has 200") == true, "\(String(describing: error))")
        try t.transfer(alice, bob, 200, "2026-01-15T00:00:00Z")
        #expect(t.lots(bob).map(\.issuer) == [harbor])
        #expect(t.lots(alice).map(\.points) == [1_000])
        try t.checkEverything()
    }

    @Test("the same idempotency key with the same content returns the first result and changes nothing")
    func idempotentReplay() throws {
        let network = MemberNetworks.make(limits: MemberNetworks.limits(transfersPerDay: 1, feePoints: 10))
        var (t, _) = try ledger(network, alicePoints: 5_000)
        let first = try t.transfer(alice, bob, 1_000, "2026-03-01T10:00:00Z", key: "k1")
        #expect(!first.isReplay)
        #expect(first.fee == 10)
        #expect(t.balance(alice) == 3_990)
        let state = StateImage(t.ledger.state, includingBatchLog: false)
        let postings = t.store.content.postings
        // Again, later the same day (the daily limit is reached) and a week later: the first result.
        for time in ["2026-03-01T10:00:00Z", "2026-03-01T18:00:00Z", "2026-03-08T00:00:00Z"] {
            let again = try t.transfer(alice, bob, 1_000, time, key: "k1")
            #expect(again.isReplay)
            #expect(again.seq == first.seq)
            #expect(again.points == 1_000)
            #expect(again.fee == 10)
            #expect(StateImage(t.ledger.state, includingBatchLog: false) == state)
            #expect(t.store.content.postings == postings)
        }
        // The key with other content is refused, whatever else the request is.
        for (from, to, points) in [
            (alice, bob, 1_100), (alice, carol, 1_000), (carol, bob, 1_000), (bob, alice, 1_000),
        ] {
            let error = t.refuseTransfer(
                from,
                to,
                Int64(points),
                "2026-03-09T00:00:00Z",
                key: "k1",
                .idempotencyConflict
            )
            #expect(error?.message.contains("k1") == true)
        }
        // Another key is another transfer; a refused one leaves its key unused.
        t.refuseTransfer(alice, bob, 1_000, "2026-03-01T11:00:00Z", key: "k2", .transferLimitExceeded)
        let second = try t.transfer(alice, bob, 1_000, "2026-03-02T11:00:00Z", key: "k2")
        #expect(!second.isReplay)
        #expect(second.seq == first.seq + 1)
        #expect(t.balance(bob) == 2_000)
        // A partner's record id "k1" is not a transfer's key.
        var r = RecordMaker()
        try t.accept(r.earn(bob, 100, at: skyways, "2026-03-03T00:00:00Z", id: "k1"))
        try t.checkEverything()
    }

    @Test("a member cannot transfer to themselves; unknown and closed members are refused")
    func refusedMembers() throws {
        let (t, _) = try ledger(MemberNetworks.make())
        t.refuseTransfer(alice, alice, 1_000, "2026-03-01T00:00:00Z", .sameMember)
        let stranger = Fixtures.member(99)
        t.refuseTransfer(alice, stranger, 1_000, "2026-03-01T00:00:00Z", .unknownMember)
        t.refuseTransfer(stranger, alice, 1_000, "2026-03-01T00:00:00Z", .unknownMember)
        t.refuseTransfer(alice, bob, 0, "2026-03-01T00:00:00Z", .badAmount)
        t.refuseTransfer(alice, bob, -5, "2026-03-01T00:00:00Z", .badAmount)
        try t.checkEverything()

        let reopened = try t.closing(bob)
        #expect(reopened.member(bob)?.isClosed == true)
        for (from, to) in [(alice, bob), (bob, alice)] {
            let before = StateImage(reopened.state)
            expectError(.memberClosed) {
                try reopened.transfer(
                    TransferRequest(
                        from: from,
                        to: to,
                        points: 1_000,
                        idempotencyKey: nil,
                        at: Fixtures.time("2026-03-02T00:00:00Z")
                    )
                )
            }
            #expect(StateImage(reopened.state) == before)
        }
        // alice and carol are still open.
        let moved = try reopened.transfer(
            TransferRequest(
                from: alice,
                to: carol,
                points: 1_000,
                idempotencyKey: nil,
                at: Fixtures.time("2026-03-02T00:00:00Z")
            )
        )
        #expect(!moved.isReplay)
        #expect(reopened.member(carol)?.balance == 1_000)
        #expect(try Audit.run(reopened).problems == [])
    }

    @Test("a transfer needs the points and the fee: exactly enough moves, one point less is refused")
    func insufficientPoints() throws {
        let network = MemberNetworks.make(limits: MemberNetworks.limits(feePoints: 50))
        let (t, _) = try ledger(network, alicePoints: 1_000)
        let error = t.refuseTransfer(alice, bob, 951, "2026-03-01T00:00:00Z", .insufficientPoints)
        #expect(error?.message.contains("50-point fee") == true, "\(String(describing: error))")
        #expect(error?.message.contains("needs 1001") == true, "\(String(describing: error))")
        t.refuseTransfer(alice, bob, 1_000, "2026-03-01T00:00:00Z", .insufficientPoints)
        let result = try t.transfer(alice, bob, 950, "2026-03-01T00:00:00Z")
        #expect(result.fee == 50)
        #expect(t.balance(alice) == 0)
        #expect(t.balance(bob) == 950)
        #expect(t.lots(alice).isEmpty)
        // bob has 950: 951 is one too many.
        t.refuseTransfer(bob, carol, 901, "2026-03-02T00:00:00Z", .insufficientPoints)
        try t.transfer(bob, carol, 900, "2026-03-02T00:00:00Z")
        #expect(t.balance(bob) == 0)
        try t.checkEverything()
    }

    @Test("a fee ends its points as breakage of their issuers: the breakage account grows, outstanding shrinks")
    func feeIsBreakage() throws {
        let network = MemberNetworks.make(limits: MemberNetworks.limits(feePoints: 150))
        var t = try TestLedger(network: network)
        var r = RecordMaker()
        for member in [alice, bob] { try t.accept(r.enroll(member, at: skyways, "2026-01-02T00:00:00Z")) }
        try t.accept(r.earn(alice, 900, at: harbor, "2026-01-03T00:00:00Z"))  // 300 HARBOR, soonest
        try t.accept(r.earn(alice, 2_000, at: skyways, "2026-01-04T00:00:00Z"))  // 1,000 SKYWAYS
        #expect(t.breakage(harbor) == 0)
        #expect(t.breakage(skyways) == 0)
        let result = try t.transfer(alice, bob, 200, "2026-02-01T00:00:00Z")
        #expect(result.fee == 150)
        // 200 HARBOR points move; the fee takes the other 100 HARBOR and 50 SKYWAYS.
        #expect(t.lots(bob).map { [$0.issuer.rawValue, "\($0.points)"] } == [["HARBOR", "200"]])
        #expect(t.lots(alice).map { [$0.issuer.rawValue, "\($0.points)"] } == [["SKYWAYS", "950"]])
        #expect(t.breakage(harbor) == 100)
        #expect(t.breakage(skyways) == 50)
        #expect(t.ledger.outstanding(harbor) == 200)
        #expect(t.ledger.outstanding(skyways) == 950)
        #expect(t.issuerAccount(harbor) == -300)
        #expect(t.issuerAccount(skyways) == -1_000)
        #expect(t.balance(alice) == 950)
        #expect(try t.obligations().isEmpty)
        let posting = try #require(try t.store.posting(seq: result.seq))
        #expect(posting.points == -350)
        #expect(PostingDetail(posting.detail).fee == 150)
        t.expectLotsTraceToIssuers()
        try t.checkEverything()
    }

    @Test("lots a member receives while owing repay the debt first, and the issuers settle it")
    func receiverInDebt() throws {
        var (t, r) = try ledger(MemberNetworks.make(), alicePoints: 1_000)
        let earn = r.earn(bob, 900, at: harbor, "2026-01-10T00:00:00Z")
        try t.accept(earn)
        try t.accept(r.redeem(bob, 900, at: harbor, "2026-01-11T00:00:00Z"))
        try t.accept(r.reverse(earn, nil, "2026-01-12T00:00:00Z"))
        #expect(t.balance(bob) == -300)
        try t.transfer(alice, bob, 500, "2026-01-20T00:00:00Z")
        #expect(t.debts(bob).isEmpty)
        #expect(t.balance(bob) == 200)
        #expect(t.lots(bob).map(\.issuer) == [skyways])
        // SKYWAYS points paid what bob owed HARBOR: SKYWAYS owes HARBOR their value.
        let obligation = try #require(try t.obligations().first)
        #expect(obligation.debtor == skyways)
        #expect(obligation.creditor == harbor)
        #expect(obligation.points == 300)
        #expect(obligation.amount == 330)
        #expect(obligation.source.partner == .transfers)
        t.expectLotsTraceToIssuers()
        try t.checkEverything()
    }
}
