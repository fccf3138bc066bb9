import CoalitionTestSupport
import Testing

@testable import CoalitionKit

@Suite("Members: transfers at a given time, and statements that add up")
struct MemberFiguresTests {
    let skyways = Fixtures.skyways
    let alice = Fixtures.member(1)
    let bob = Fixtures.member(2)

    func ledger() throws -> (TestLedger, RecordMaker) {
        var t = try TestLedger(network: MemberNetworks.make())
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-03-01T00:00:00Z"))
        try t.accept(r.enroll(bob, at: skyways, "2026-03-05T00:00:00Z"))
        try t.accept(r.earn(alice, 20_000, at: skyways, "2026-03-10T00:00:00Z"))
        try t.accept(r.earn(bob, 2_000, at: skyways, "2026-03-12T00:00:00Z"))
        return (t, r)
    }

    @Test("a transfer at a time before either member's enrolment or latest movement, or in a closed cycle, is refused")
    func transferTimes() throws {
        var (t, r) = try ledger()
        // Years before either member enrolled; before bob enrolled; before their latest movements.
        for time in ["2020-01-01T00:00:00Z", "2026-03-03T00:00:00Z", "2026-03-11T00:00:00Z"] {
            let error = t.refuseTransfer(alice, bob, 1_000, time, .effectiveTimeRefused)
            #expect(error?.message.contains(time) == true, "\(error?.message ?? "")")
        }
        #expect(try t.transfer(alice, bob, 1_000, "2026-03-12T00:00:00Z").points == 1_000)  // at the latest: fine
        t.refuseTransfer(bob, alice, 1_000, "2026-03-11T23:00:00Z", .effectiveTimeRefused)
        try t.accept(r.earn(bob, 2_000, at: skyways, "2026-03-20T00:00:00Z"))
        _ = try CycleCloser.close(
            t.ledger,
            through: Fixtures.time("2026-03-31T23:59:59Z"),
            now: Fixtures.time("2026-04-01T00:00:00Z")
        )
        t.refuseTransfer(alice, bob, 1_000, "2026-03-25T00:00:00Z", .effectiveTimeRefused)
        #expect(try t.transfer(alice, bob, 1_000, "2026-04-02T00:00:00Z").points == 1_000)
        try t.checkEverything()
    }

    @Test("a transfer made now takes effect now, though a partner's record is dated minutes ahead")
    func transferNowBesideRecordsAhead() throws {
        var (t, r) = try ledger()
        let now = Fixtures.time("2026-03-20T12:00:00Z")
        // SKYWAYS dates an earn for bob 10 minutes ahead of now: within the future cut-off.
        try t.accept(r.earn(bob, 2_000, at: skyways, "2026-03-20T12:10:00Z"))
        // Given as a time (--at), "now" is before bob's latest movement: refused, nothing moves.
        t.refuseTransfer(alice, bob, 1_000, "2026-03-20T12:00:00Z", .effectiveTimeRefused)
        // Without a given time it takes effect now.
        let before = t.balance(bob)
        let result = try t.ledger.transfer(
            TransferRequest(from: alice, to: bob, points: 1_000, idempotencyKey: "now-1", at: now, takesEffectNow: true)
        )
        #expect(result.points == 1_000)
        #expect(try t.ledger.store.posting(seq: result.seq)?.occurredAt == now)
        #expect(t.balance(bob) == before + 1_000)
        try t.checkEverything()
    }

    @Test("a statement lists movements in effective-time order, its running balance from the opening to the closing")
    func statementOrder() throws {
        var (t, r) = try ledger()
        // Applied after the earn of 03-10, effective before it.
        try t.accept(r.earn(alice, 4_000, at: skyways, "2026-03-08T00:00:00Z"))
        try t.accept(r.earn(alice, 600, at: skyways, "2026-03-02T00:00:00Z"))
        for from in ["2026-03-01T00:00:00Z", "2026-03-05T00:00:00Z", "2026-03-09T00:00:00Z"] {
            let statement = try MemberStatement(
                ledger: t.ledger,
                member: alice,
                from: Fixtures.time(from),
                to: Fixtures.time("2026-12-31T00:00:00Z")
            )
            let times = statement.lines.map(\.at)
            #expect(times == times.sorted(), "\(from)")
            var running = statement.opening
            for line in statement.lines {
                running += line.points
                #expect(line.balance == running, "\(from): \(line.at)")
            }
            #expect(running == statement.closing)
            #expect(statement.closing == t.balance(alice))
        }
        let late = try MemberStatement(
            ledger: t.ledger,
            member: alice,
            from: Fixtures.time("2026-03-09T00:00:00Z"),
            to: Fixtures.time("2026-12-31T00:00:00Z")
        )
        // Effective before 03-09: 300 + 2,000 points, each with the Platinum bonus of 50%.
        #expect(late.opening == 3_450)
    }
}
