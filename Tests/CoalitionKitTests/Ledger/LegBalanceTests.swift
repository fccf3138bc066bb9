import CoalitionGeneration
import CoalitionKit
import CoalitionTestSupport
import Testing

/// The engine's half of the paired balance check: a posting whose legs do not sum to zero in
/// each unit is refused when it is made, before anything is written. The audit's half (the
/// same check on stored rows) is in `AuditTests`.
@Suite("Leg balance: the engine refuses a posting that does not balance per unit")
struct LegBalanceTests {
    static let units = ["PTS", "USD", "EUR"]

    /// Legs that sum to zero in each unit: per unit, a few accounts of the network's own and
    /// one that takes the rest.
    static func balancedLegs(_ generator: inout SeededGenerator) -> [Leg] {
        var legs: [Leg] = []
        for unit in units.shuffled(using: &generator).prefix(Int.random(in: 1...3, using: &generator)) {
            var sum: Int64 = 0
            for index in 0..<Int.random(in: 1...4, using: &generator) {
                let amount = Int64.random(in: -1_000_000...1_000_000, using: &generator)
                legs.append(Leg("check:\(unit.lowercased())-\(index)", unit, amount))
                sum += amount
            }
            legs.append(Leg("check:\(unit.lowercased())-rest", unit, -sum))
        }
        return legs.shuffled(using: &generator)
    }

    func post(_ legs: [Leg], on t: TestLedger) throws -> Int64 {
        try t.ledger.batch(BatchInfo(source: "leg balance", receivedAt: Timestamp(seconds: 0))) { session in
            try session.post(kind: .settle, occurredAt: Fixtures.time("2026-04-01T00:00:00Z"), legs: legs, detail: "")
        }
    }

    @Test("a posting off by any amount in any one unit is refused with UNBALANCED_POSTING, and nothing changes")
    func unbalancedIsRefused() throws {
        let t = try TestLedger.generated(members: 20, records: 200, seed: 15)
        let before = StateImage(t.ledger.state)
        var generator = SeededGenerator(seed: 15)
        for _ in 0..<50 {
            var legs = Self.balancedLegs(&generator)
            let broken = Int.random(in: legs.indices, using: &generator)
            var delta = Int64.random(in: -5...5, using: &generator)
            if delta == 0 { delta = 1 }
            legs[broken] = Leg(legs[broken].account, legs[broken].unit, legs[broken].amount + delta)
            let error = expectError(.unbalancedPosting) { try post(legs, on: t) }
            #expect(
                error?.message.contains("does not balance in \(legs[broken].unit)") == true,
                "\(String(describing: error))"
            )
            #expect(StateImage(t.ledger.state) == before)
        }
        #expect(try Audit.run(t.ledger).isClean)
    }

    @Test("a posting on a member's points that does not balance is refused too")
    func unbalancedMemberLeg() throws {
        let t = try TestLedger.generated(members: 20, records: 200, seed: 16)
        let before = StateImage(t.ledger.state)
        let member = try #require(t.ledger.state.members.keys.min())
        let legs = [Leg(Account.member(member), "PTS", 10), Leg("check:pts", "PTS", -9)]
        expectError(.unbalancedPosting) { try post(legs, on: t) }
        #expect(StateImage(t.ledger.state) == before)
        #expect(try Audit.run(t.ledger).isClean)
    }

    @Test("the same postings, balanced, are made: the check refuses only what does not balance")
    func balancedIsPosted() throws {
        let t = try TestLedger()
        var generator = SeededGenerator(seed: 15)
        for round in 1...50 {
            let seq = try post(Self.balancedLegs(&generator), on: t)
            #expect(seq == Int64(round))
        }
        #expect(t.ledger.state.lastSeq == 50)
    }
}
