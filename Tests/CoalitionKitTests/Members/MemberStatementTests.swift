import CoalitionKit
import CoalitionTestSupport
import Testing

@Suite("Members: the member statement")
struct MemberStatementTests {
    let skyways = Fixtures.skyways
    let harbor = Fixtures.harbor
    let marketplace = Fixtures.marketplace
    let alice = Fixtures.member(1)
    let bob = Fixtures.member(2)

    /// alice's life on a network with a 20-day points lifetime, Silver at 1,000 and a fee:
    /// earns (the second with a bonus), a redemption, transfers both ways, a reversal, an
    /// expiry.
    func ledger() throws -> TestLedger {
        let network = MemberNetworks.make(
            lifetimeDays: 20,
            tiers: [MemberNetworks.blue, MemberNetworks.silver],
            limits: MemberNetworks.limits(feePoints: 5)
        )
        var t = try TestLedger(network: network)
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-03-01T00:00:00Z", id: "ENROL-A"))
        try t.accept(r.enroll(bob, at: harbor, "2026-03-01T00:00:00Z"))
        try t.accept(r.earn(alice, 2_000, at: skyways, "2026-03-02T00:00:00Z", id: "SKY-1"))  // 1,000: Silver
        try t.accept(r.earn(bob, 3_000, at: harbor, "2026-03-02T00:00:00Z"))  // bob: 1,000
        let bonusEarn = r.earn(alice, 90_000, at: marketplace, "2026-03-10T00:00:00Z", id: "MKT-1")  // 900 + 90
        try t.accept(bonusEarn)
        try t.accept(r.redeem(alice, 600, at: harbor, "2026-03-11T00:00:00Z", id: "HAR-1"))  // 200
        try t.transfer(alice, bob, 300, "2026-03-12T00:00:00Z")  // and a 5-point fee
        try t.transfer(bob, alice, 400, "2026-03-13T00:00:00Z")
        try t.accept(r.reverse(bonusEarn, 30_000, "2026-03-14T00:00:00Z", id: "MKT-2"))  // 300 + 30
        // What is left of alice's SKYWAYS lot (495) and the 400 HARBOR points bob sent her
        // expire on 03-22.
        _ = try t.ledger.expire(asOf: Fixtures.time("2026-03-23T00:00:00Z"), now: Fixtures.time("2026-03-23T00:00:00Z"))
        try t.accept(r.earn(alice, 1_000, at: skyways, "2026-03-24T00:00:00Z", id: "SKY-2"))  // 500 + 50
        return t
    }

    @Test("opening plus the movements is the closing balance, which is the member's balance")
    func balances() throws {
        let t = try ledger()
        #expect(t.balance(alice) == 1_210)
        // Before alice's last lots die (03-30, 04-13): every point she holds is live.
        let end = Fixtures.time("2026-03-25T00:00:00Z")
        let whole = try MemberStatement(ledger: t.ledger, member: alice, from: Timestamp(seconds: 0), to: end)
        #expect(whole.opening == 0)
        #expect(whole.closing == t.balance(alice))
        #expect(whole.opening + whole.lines.reduce(0) { $0 + $1.points } == whole.closing)
        var running = whole.opening
        for line in whole.lines {
            running += line.points
            #expect(line.balance == running, "\(line.kind) at \(line.at)")
        }
        // From the middle: what came before is the opening balance.
        for from in ["2026-03-10T00:00:00Z", "2026-03-12T12:00:00Z", "2026-03-24T00:00:00Z", "2026-04-01T00:00:00Z"] {
            let part = try MemberStatement(ledger: t.ledger, member: alice, from: Fixtures.time(from), to: end)
            let before = whole.lines.filter { $0.at < Fixtures.time(from) }.reduce(0) { $0 + $1.points }
            #expect(part.opening == before, "\(from)")
            #expect(part.opening + part.lines.reduce(0) { $0 + $1.points } == part.closing, "\(from)")
            #expect(part.closing == t.balance(alice), "\(from)")
            #expect(part.lines.allSatisfy { $0.at >= Fixtures.time(from) })
        }
        // Up to a day: only what happened by then.
        let early = try MemberStatement(
            ledger: t.ledger,
            member: alice,
            from: Timestamp(seconds: 0),
            to: Fixtures.time("2026-03-10T00:00:00Z")
        )
        #expect(early.closing == 1_990)
        #expect(early.lines.map(\.kind) == ["enroll", "earn", "earn"])
    }

    @Test("it lists earns with their rate and bonus, redemptions, transfers in and out, reversals and expiry")
    func lines() throws {
        let t = try ledger()
        let statement = try MemberStatement(
            ledger: t.ledger,
            member: alice,
            from: Timestamp(seconds: 0),
            to: Fixtures.time("2026-03-25T00:00:00Z")
        )
        #expect(
            statement.lines.map(\.kind) == [
                "enroll", "earn", "earn", "redeem", "transfer out", "transfer in", "reverse-earn", "expire", "earn",
            ]
        )
        #expect(statement.lines.map(\.points) == [0, 1_000, 990, -200, -305, 400, -330, -895, 550])
        let lines = statement.lines
        #expect(lines[1].partner == skyways)
        #expect(lines[1].recordID == "SKY-1")
        #expect(lines[1].description == "2000 units at 0.5 points each")
        #expect(lines[2].partner == marketplace)
        #expect(lines[2].recordID == "MKT-1")
        #expect(lines[2].description.hasPrefix("90000 units at "))
        #expect(lines[2].description.hasSuffix(", tier bonus 90"))
        #expect(lines[3].partner == harbor)
        #expect(lines[3].description == "600 units at 0.333333\u{2026} (1/3) points each")
        #expect(lines[4].partner == nil)
        #expect(lines[4].recordID == nil)
        #expect(lines[4].description == "to \(bob), fee 5")
        #expect(lines[5].description == "from \(bob)")
        #expect(lines[5].partner == nil)
        #expect(lines[6].recordID == "MKT-2")
        #expect(lines[6].description == "reverses MKT-1")
        #expect(lines[7].description == "points past their expiry")
        #expect(lines[7].at == Fixtures.time("2026-03-23T00:00:00Z"))
        #expect(lines[8].description.hasSuffix("tier bonus 50"))

        // bob's side of the same transfers.
        let bobs = try MemberStatement(
            ledger: t.ledger,
            member: bob,
            from: Timestamp(seconds: 0),
            to: Fixtures.time("2026-03-25T00:00:00Z")
        )
        #expect(bobs.lines.map(\.kind) == ["enroll", "earn", "transfer in", "transfer out", "expire"])
        #expect(bobs.closing == t.balance(bob))
        #expect(bobs.lines[2].description == "from \(alice)")
        #expect(bobs.lines[3].description == "to \(alice), fee 5")
    }

    @Test("points past their expiry leave the balance on their date and are shown apart until expire books them")
    func deadPointsApart() throws {
        let t = try ledger()
        let end = Fixtures.time("2026-12-31T00:00:00Z")
        let account = t.ledger.member(alice)!
        #expect(account.expiredPending(at: end) == 1_210)  // expire has not run since 03-23
        let statement = try MemberStatement(ledger: t.ledger, member: alice, from: Timestamp(seconds: 0), to: end)
        #expect(statement.closing == account.balance(at: end))
        #expect(statement.closing == 0)
        #expect(statement.expiredPending == 1_210)
        #expect(statement.closing + statement.expiredPending == t.balance(alice))
        let expired = statement.lines.filter { $0.kind == "expired" }
        #expect(
            Set(expired.map(\.at)) == [Fixtures.time("2026-03-30T00:00:00Z"), Fixtures.time("2026-04-13T00:00:00Z")]
        )
        #expect(expired.reduce(0) { $0 + $1.points } == -1_210)
        var running = statement.opening
        for line in statement.lines {
            running += line.points
            #expect(line.balance == running, "\(line.kind) at \(line.at)")
        }
        // A period that starts after a lot died opens without it.
        let later = try MemberStatement(
            ledger: t.ledger,
            member: alice,
            from: Fixtures.time("2026-04-01T00:00:00Z"),
            to: end
        )
        #expect(later.opening == account.balance(at: Fixtures.time("2026-04-01T00:00:00Z")))
        #expect(!later.lines.isEmpty && later.lines.allSatisfy { $0.kind == "expired" })
        // Once expire books the breakage, the statement shows the run and nothing pending.
        _ = try t.ledger.expire(asOf: end, now: end)
        let booked = try MemberStatement(ledger: t.ledger, member: alice, from: Timestamp(seconds: 0), to: end)
        #expect(booked.closing == 0)
        #expect(booked.expiredPending == 0)
        #expect(booked.lines.filter { $0.kind == "expired" }.isEmpty)
        #expect(booked.lines.last?.kind == "expire")
    }

    @Test("the network summary counts dead points apart from balances and issuers' live points")
    func summaryApart() throws {
        let t = try ledger()
        let before = try NetworkSummary(ledger: t.ledger, at: Fixtures.time("2026-03-25T00:00:00Z"))
        let after = try NetworkSummary(ledger: t.ledger, at: Fixtures.time("2026-12-31T00:00:00Z"))
        #expect(before.expiredPending == 0)
        #expect(after.expiredPending == 1_210)
        #expect(before.pointsHeld - after.pointsHeld == 1_210)
        for (live, later) in zip(before.issuers, after.issuers) {
            #expect(live.pointsOutstanding == t.ledger.outstanding(live.issuer))
            #expect(later.pointsOutstanding + later.expiredPending == t.ledger.outstanding(later.issuer))
        }
        #expect(after.issuers.reduce(0) { $0 + $1.expiredPending } == 1_210)
    }
}
