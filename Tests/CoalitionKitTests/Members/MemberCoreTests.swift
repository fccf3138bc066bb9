import CoalitionGeneration
import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

/// The demo partners under rules a test chooses.
func memberNetwork(
    limits: TransferLimits = TransferLimits(
        minimum: 1_000,
        step: 100,
        maximumPerTransfer: 100_000,
        sentPerYear: 100_000,
        receivedPerYear: 150_000,
        transfersPerDay: 2,
        transfersPerMonth: 3,
        transfersPerYear: 6,
        feePoints: 0
    ),
    utcOffsetMinutes: Int64 = 0,
    lifetimeDays: Int64 = 540,
    policy: DowngradePolicy = .oneTier
) -> Network {
    Network(
        name: "test",
        pointsLifetimeDays: lifetimeDays,
        utcOffsetMinutes: utcOffsetMinutes,
        tiers: [
            Tier(name: "Blue", qualifyingPoints: 0, bonusPercent: 0),
            Tier(name: "Silver", qualifyingPoints: 10_000, bonusPercent: 10),
            Tier(name: "Gold", qualifyingPoints: 20_000, bonusPercent: 50),
        ],
        tierWindowDays: 30,
        downgradePolicy: policy,
        transferLimits: limits,
        clearing: ClearingSettings(feeBasisPoints: 0, acceptedPastSeconds: 86_400, acceptedFutureSeconds: 60),
        partners: Fixtures.network.sortedPartners
    )
}

@Suite("Members: transfers, tiers, expiry, statements")
struct MemberCoreTests {
    let skyways = Fixtures.skyways
    let harbor = Fixtures.harbor
    let alice = Fixtures.member(1)
    let bob = Fixtures.member(2)
    let carol = Fixtures.member(3)

    /// Alice, Bob and Carol enrolled; Alice holds 100,000 Skyways points (200,000 miles)
    /// earned on 2026-02-01 and 30,000 Harbor points earned on 2026-01-15.
    func funded(_ network: Network) throws -> (TestLedger, RecordMaker) {
        var t = try TestLedger(network: network)
        var r = RecordMaker()
        for member in [alice, bob, carol] { try t.accept(r.enroll(member, at: skyways, "2026-01-10T00:00:00Z")) }
        try t.accept(r.earn(alice, 90_000, at: harbor, "2026-01-15T00:00:00Z"))
        try t.accept(r.earn(alice, 200_000, at: skyways, "2026-02-01T00:00:00Z"))
        return (t, r)
    }

    func transfer(
        _ t: TestLedger,
        _ from: MemberNumber,
        _ to: MemberNumber,
        _ points: Int64,
        _ at: String,
        key: String? = nil
    )
        throws -> TransferResult
    {
        try t.ledger.transfer(
            TransferRequest(
                from: from,
                to: to,
                points: points,
                idempotencyKey: key ?? "k-\(points)-\(at)",
                at: Fixtures.time(at)
            )
        )
    }

    @Test("a transfer moves lots soonest-expiring first with issuer and expiry, and no partner owes another")
    func transferMovesLots() throws {
        let (t, _) = try funded(memberNetwork())
        let harborLot = try #require(t.lots(alice).first)
        #expect(harborLot.issuer == harbor)
        let before = t.balance(alice)
        let result = try transfer(t, alice, bob, 40_000, "2026-03-01T10:00:00Z")
        #expect(!result.isReplay)
        #expect(t.balance(alice) == before - 40_000)
        let moved = t.lots(bob)
        #expect(moved.map(\.issuer) == [harbor, skyways])
        #expect(moved.map(\.points) == [30_000, 10_000])
        #expect(moved[0].expiresAt == harborLot.expiresAt)
        #expect(moved[0].earnedAt == harborLot.earnedAt)
        #expect(try t.obligations().isEmpty)
        try t.checkEverything()
    }

    @Test("idempotency: the same key and content returns the first result; other content is refused")
    func idempotency() throws {
        let (t, _) = try funded(memberNetwork())
        let first = try transfer(t, alice, bob, 2_000, "2026-03-01T10:00:00Z", key: "same")
        let before = StateImage(t.ledger.state)
        let again = try transfer(t, alice, bob, 2_000, "2026-03-01T10:05:00Z", key: "same")
        #expect(again.isReplay)
        #expect(again.seq == first.seq)
        #expect(StateImage(t.ledger.state).members == before.members)
        expectError(.idempotencyConflict) { try transfer(t, alice, bob, 3_000, "2026-03-01T10:05:00Z", key: "same") }
        expectError(.idempotencyConflict) { try transfer(t, alice, carol, 2_000, "2026-03-01T10:05:00Z", key: "same") }
    }

    @Test("refusals: same member, unknown member, insufficient points, and each limit at its boundary")
    func limits() throws {
        var (t, r) = try funded(memberNetwork())
        try t.accept(r.earn(carol, 101_000, at: skyways, "2026-02-01T00:00:00Z"))  // 50,500 points
        expectError(.sameMember) { try transfer(t, alice, alice, 1_000, "2026-03-01T10:00:00Z") }
        expectError(.unknownMember) { try transfer(t, alice, Fixtures.member(99), 1_000, "2026-03-01T10:00:00Z") }
        expectError(.insufficientPoints) { try transfer(t, bob, alice, 1_000, "2026-03-01T10:00:00Z") }
        let minimum = expectError(.transferLimitExceeded) { try transfer(t, alice, bob, 900, "2026-03-01T10:00:00Z") }
        #expect(minimum?.message.contains("minimum") == true)
        let step = expectError(.transferLimitExceeded) { try transfer(t, alice, bob, 1_050, "2026-03-01T10:00:00Z") }
        #expect(step?.message.contains("step") == true)
        let maximum = expectError(.transferLimitExceeded) {
            try transfer(t, alice, bob, 100_100, "2026-03-01T10:00:00Z")
        }
        #expect(maximum?.message.contains("maximum per transfer") == true)
        _ = try transfer(t, alice, bob, 100_000, "2026-03-01T10:00:00Z")  // exactly the maximum, and the yearly cap
        let yearly = expectError(.transferLimitExceeded) {
            try transfer(t, alice, carol, 1_000, "2026-03-02T10:00:00Z")
        }
        #expect(yearly?.message.contains("points sent per year") == true)
        // Bob may receive 150,000 a year: 100,000 so far.
        let received = expectError(.transferLimitExceeded) {
            try transfer(t, carol, bob, 50_100, "2026-03-03T10:00:00Z")
        }
        #expect(received?.message.contains("points received per year") == true)
        _ = try transfer(t, carol, bob, 50_000, "2026-03-03T10:00:00Z")  // exactly up to the cap
        _ = try transfer(t, alice, carol, 1_000, "2027-01-01T00:00:00Z")  // a new calendar year
        try t.checkEverything(strict: false)
    }

    @Test("counts per day across midnight in the network's time zone, then per month")
    func dailyCapAcrossMidnight() throws {
        let (t, _) = try funded(memberNetwork(utcOffsetMinutes: 60))
        _ = try transfer(t, alice, bob, 1_000, "2026-03-01T21:00:00Z")  // 22:00 local, day 1
        _ = try transfer(t, alice, bob, 1_000, "2026-03-01T22:30:00Z")  // 23:30 local, day 1
        let third = expectError(.transferLimitExceeded) { try transfer(t, alice, bob, 1_000, "2026-03-01T22:50:00Z") }
        #expect(third?.message.contains("transfers per day") == true)
        // 23:10Z is already the next local day: allowed by the day, refused by the month (3).
        _ = try transfer(t, alice, bob, 1_000, "2026-03-01T23:10:00Z")
        let fourth = expectError(.transferLimitExceeded) { try transfer(t, alice, bob, 1_000, "2026-03-02T12:00:00Z") }
        #expect(fourth?.message.contains("transfers per month") == true)
        // In UTC alone the 23:10Z transfer would have been the third of the day.
        let (u, _) = try funded(memberNetwork(utcOffsetMinutes: 0))
        _ = try transfer(u, alice, bob, 1_000, "2026-03-01T21:00:00Z")
        _ = try transfer(u, alice, bob, 1_000, "2026-03-01T22:30:00Z")
        expectError(.transferLimitExceeded) { try transfer(u, alice, bob, 1_000, "2026-03-01T23:10:00Z") }
    }

    @Test("a transfer fee ends its points as breakage of their issuer")
    func fee() throws {
        var limits = memberNetwork().transferLimits
        limits = TransferLimits(
            minimum: limits.minimum,
            step: limits.step,
            maximumPerTransfer: limits.maximumPerTransfer,
            sentPerYear: nil,
            receivedPerYear: nil,
            transfersPerDay: nil,
            transfersPerMonth: nil,
            transfersPerYear: nil,
            feePoints: 250
        )
        let (t, _) = try funded(memberNetwork(limits: limits))
        let outstanding = t.ledger.outstanding(harbor)
        let before = t.balance(alice)
        let result = try transfer(t, alice, bob, 1_000, "2026-03-01T10:00:00Z")
        #expect(result.fee == 250)
        #expect(t.balance(alice) == before - 1_250)
        #expect(t.balance(bob) == 1_000)
        #expect(t.ledger.balance(of: AccountKey(Account.breakage(harbor), Account.points)) == 250)
        #expect(t.ledger.outstanding(harbor) == outstanding - 250)
        try t.checkEverything()
    }

    @Test("tiers: exactly at the threshold upgrades, the next earn gets the bonus, transfers and bonuses never qualify")
    func tiers() throws {
        var t = try TestLedger(network: memberNetwork())
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
        try t.accept(r.enroll(bob, at: skyways, "2026-01-10T00:00:00Z"))
        #expect(try t.accept(r.earn(alice, 19_998, at: skyways, "2026-02-01T00:00:00Z")) == 9_999)
        #expect(t.ledger.member(alice)?.tier == 0)
        // 10,000 qualifying points: Silver, but no bonus on the earn that crossed.
        #expect(try t.accept(r.earn(alice, 2, at: skyways, "2026-02-02T00:00:00Z")) == 1)
        #expect(t.ledger.member(alice)?.tier == 1)
        #expect(try t.accept(r.earn(alice, 2_000, at: skyways, "2026-02-03T00:00:00Z")) == 1_100)  // +10%
        let bonus = try #require(t.lots(alice).first { $0.isBonus })
        #expect(bonus.issuer == skyways)
        #expect(bonus.points == 100)
        #expect(
            t.ledger.member(alice)?.qualifyingPoints(at: Fixtures.time("2026-02-03T00:00:00Z"), windowDays: 30)
                == 11_000
        )
        // Transfers in do not qualify Bob.
        _ = try t.ledger.transfer(
            TransferRequest(
                from: alice,
                to: bob,
                points: 10_000,
                idempotencyKey: "t",
                at: Fixtures.time("2026-02-04T00:00:00Z")
            )
        )
        #expect(t.ledger.member(bob)?.tier == 0)
        #expect(t.ledger.member(bob)?.qualifying.isEmpty == true)
        // Spending does not lower qualifying points.
        try t.accept(r.redeem(alice, 1_000, at: skyways, "2026-02-05T00:00:00Z"))
        #expect(
            t.ledger.member(alice)?.qualifyingPoints(at: Fixtures.time("2026-02-05T00:00:00Z"), windowDays: 30)
                == 11_000
        )
        let changes = try t.store.tierChanges(member: alice)
        #expect(changes.map(\.to) == ["Silver"])
        #expect(changes.first?.reason.contains("10000 qualifying points") == true)
        try t.checkEverything()
    }

    @Test(
        "reviews: the window edge, one tier down at a time or straight to the qualified tier",
        arguments: [DowngradePolicy.oneTier, .toQualified]
    )
    func reviews(policy: DowngradePolicy) throws {
        var t = try TestLedger(network: memberNetwork(policy: policy))
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
        try t.accept(r.earn(alice, 40_000, at: skyways, "2026-02-01T12:00:00Z"))  // 20,000: Gold
        #expect(t.ledger.member(alice)?.tier == 2)
        // The 30-day window ending 2026-03-02 still holds 2026-02-01; ending 2026-03-03 it does not.
        #expect(
            try t.ledger.reviewTiers(
                asOf: Fixtures.time("2026-03-02T00:00:00Z"),
                now: Fixtures.time("2026-03-02T00:00:00Z")
            ).isEmpty
        )
        let changes = try t.ledger.reviewTiers(
            asOf: Fixtures.time("2026-03-03T00:00:00Z"),
            now: Fixtures.time("2026-03-03T00:00:00Z")
        )
        #expect(changes.count == 1)
        #expect(t.ledger.member(alice)?.tier == (policy == .oneTier ? 1 : 0))
        #expect(changes.first?.reason.contains("review") == true)
        try t.checkEverything()
    }

    @Test("an earn reversal takes back its bonus in proportion and its qualifying points")
    func reversalTakesBonus() throws {
        var t = try TestLedger(network: memberNetwork())
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
        try t.accept(r.earn(alice, 20_000, at: skyways, "2026-02-01T00:00:00Z"))  // 10,000: Silver
        let earn = r.earn(alice, 10_000, at: skyways, "2026-02-02T00:00:00Z")  // 5,000 + 500 bonus
        #expect(try t.accept(earn) == 5_500)
        #expect(try t.accept(r.reverse(earn, 5_000, "2026-02-03T00:00:00Z")) == -2_750)
        #expect(try t.accept(r.reverse(earn, nil, "2026-02-04T00:00:00Z")) == -2_750)
        #expect(t.balance(alice) == 10_000)
        #expect(
            t.ledger.member(alice)?.qualifyingPoints(at: Fixtures.time("2026-02-04T00:00:00Z"), windowDays: 30)
                == 10_000
        )
        try t.checkEverything()
    }

    @Test("expiry at the instant, not a second before; again for the same date does nothing; breakage per issuer")
    func expiry() throws {
        var t = try TestLedger(network: memberNetwork(lifetimeDays: 30))
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
        try t.accept(r.earn(alice, 2_000, at: skyways, "2026-02-01T00:00:00Z"))  // expires 2026-03-03T00:00:00Z
        try t.accept(r.earn(alice, 3_000, at: harbor, "2026-02-01T00:00:01Z"))  // a second later
        let instant = Fixtures.time("2026-03-03T00:00:00Z")
        #expect(try t.ledger.expire(asOf: instant.adding(seconds: -1), now: instant).points == 0)
        let outstanding = t.ledger.outstanding(skyways)
        let result = try t.ledger.expire(asOf: instant, now: instant)
        #expect(result.points == 1_000)
        #expect(result.breakage == [skyways: 1_000])
        #expect(t.lots(alice).map(\.issuer) == [harbor])
        #expect(t.ledger.outstanding(skyways) == outstanding - 1_000)
        #expect(t.ledger.balance(of: AccountKey(Account.breakage(skyways), Account.points)) == 1_000)
        let before = StateImage(t.ledger.state)
        #expect(try t.ledger.expire(asOf: instant, now: instant).points == 0)
        #expect(StateImage(t.ledger.state) == before)
        try t.checkEverything()
    }

    @Test("expiry then reversal of the earn: the breakage is booked back, the member is not charged")
    func reversalAfterExpiry() throws {
        var t = try TestLedger(network: memberNetwork(lifetimeDays: 30))
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
        let earn = r.earn(alice, 2_000, at: skyways, "2026-02-01T00:00:00Z")
        try t.accept(earn)
        try t.accept(r.earn(alice, 4_000, at: harbor, "2026-02-20T00:00:00Z"))
        _ = try t.ledger.expire(asOf: Fixtures.time("2026-03-05T00:00:00Z"), now: Fixtures.time("2026-03-05T00:00:00Z"))
        let balance = t.balance(alice)
        // The member's balance does not change: the points had already ended as breakage.
        #expect(try t.accept(r.reverse(earn, 600, "2026-03-06T00:00:00Z")) == 0)
        #expect(try t.accept(r.reverse(earn, nil, "2026-03-07T00:00:00Z")) == 0)
        #expect(t.balance(alice) == balance)
        #expect(t.debts(alice).isEmpty)
        #expect(t.ledger.balance(of: AccountKey(Account.breakage(skyways), Account.points)) == 0)
        try t.checkEverything()
    }

    @Test("a member statement adds up: opening plus movements is the closing balance")
    func statement() throws {
        let (t, _) = try funded(memberNetwork())
        _ = try transfer(t, alice, bob, 2_000, "2026-03-01T10:00:00Z")
        let statement = try MemberStatement(
            ledger: t.ledger,
            member: alice,
            from: Fixtures.time("2026-01-20T00:00:00Z"),
            to: Fixtures.time("2026-12-31T00:00:00Z")
        )
        #expect(statement.opening == 30_000)
        #expect(statement.opening + statement.lines.map(\.points).reduce(0, +) == statement.closing)
        #expect(statement.closing == t.balance(alice))
        #expect(statement.lines.map(\.kind) == ["earn", "transfer out"])
        let bobs = try MemberStatement(
            ledger: t.ledger,
            member: bob,
            from: Timestamp(seconds: 0),
            to: Fixtures.time("2026-12-31T00:00:00Z")
        )
        #expect(bobs.lines.last?.kind == "transfer in")
        #expect(bobs.closing == 2_000)
    }

    @Test("conservation under generated activity with transfers, tier bonuses and expiry runs", arguments: [5, 6])
    func generated(seed: Int) throws {
        let network = memberNetwork(
            limits: TransferLimits(
                minimum: 100,
                step: 100,
                maximumPerTransfer: 50_000,
                sentPerYear: nil,
                receivedPerYear: nil,
                transfersPerDay: 3,
                transfersPerMonth: nil,
                transfersPerYear: nil,
                feePoints: 50
            ),
            lifetimeDays: 45
        )
        var t = try TestLedger(network: network)
        var plan = ActivityGenerator.Plan(
            members: 60,
            records: 5_000,
            start: Fixtures.time("2026-03-01T00:00:00Z"),
            days: 150,
            seed: UInt64(seed)
        )
        plan.periodDays = 7
        let (enrollments, activity) = ActivityGenerator.generate(network: network, plan: plan)
        try t.apply(enrollments)
        var random = SeededGenerator(seed: UInt64(seed))
        var transfers = 0
        for chunk in stride(from: 0, to: activity.count, by: 250) {
            let records = Array(activity[chunk..<min(activity.count, chunk + 250)])
            try t.apply(records)
            let at = records.last!.occurredAt
            for _ in 0..<5 {
                let from = ActivityGenerator.memberNumber(Int.random(in: 0..<60, using: &random))
                let to = ActivityGenerator.memberNumber(Int.random(in: 0..<60, using: &random))
                let points = Int64.random(in: 1...30, using: &random) * 100
                if (try? t.ledger.transfer(
                    TransferRequest(from: from, to: to, points: points, idempotencyKey: nil, at: at)
                )) != nil {
                    transfers += 1
                }
            }
            _ = try t.ledger.expire(asOf: at, now: at)
            if chunk % 1_000 == 0 { _ = try t.ledger.reviewTiers(asOf: at, now: at) }
            try t.checkEverything(strict: false)
            for partner in network.sortedPartners {
                let held = t.ledger.state.members.values.flatMap { $0.lots + $0.debts }.filter {
                    $0.issuer == partner.id
                }
                #expect(held.reduce(0) { $0 + $1.points } == t.ledger.outstanding(partner.id))
            }
        }
        #expect(transfers > 20)
        #expect(t.ledger.state.members.values.contains { $0.tier > 0 })
        #expect(
            network.sortedPartners.contains {
                t.ledger.balance(of: AccountKey(Account.breakage($0.id), Account.points)) > 0
            }
        )
    }
}
