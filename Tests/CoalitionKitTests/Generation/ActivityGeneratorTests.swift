import CoalitionGeneration
import CoalitionKit
import CoalitionTestSupport
import Testing

@Suite("ActivityGenerator: reproducible demo activity")
struct ActivityGeneratorTests {
    static let plan = ActivityGenerator.Plan(
        members: 150,
        records: 3_000,
        start: Fixtures.time("2026-09-01T00:00:00Z"),
        days: 70,
        seed: 2026
    )

    @Test("the same seed gives the same records; another seed gives others")
    func deterministic() {
        let first = ActivityGenerator.generate(network: Fixtures.network, plan: Self.plan)
        let second = ActivityGenerator.generate(network: Fixtures.network, plan: Self.plan)
        #expect(first.enrollments == second.enrollments)
        #expect(first.activity == second.activity)
        var other = Self.plan
        other.seed = 2027
        #expect(ActivityGenerator.generate(network: Fixtures.network, plan: other).activity != first.activity)
        #expect(first.enrollments.count == 150)
        #expect(Set(first.enrollments.map(\.key)).count == 150)
        let keys = (first.enrollments + first.activity).map(\.key)
        #expect(Set(keys).count == keys.count)
        #expect(first.activity.map(\.occurredAt) == first.activity.map(\.occurredAt).sorted())
    }

    @Test("applied in batches of any size, the activity keeps every invariant")
    func applies() throws {
        let (enrollments, activity) = ActivityGenerator.generate(network: Fixtures.network, plan: Self.plan)
        var t = try TestLedger()
        #expect(try t.apply(enrollments).allSatisfy(\.isAccepted))
        var random = SeededGenerator(seed: 7)
        var rest = activity[...]
        var rejected: [ReasonCode] = []
        while !rest.isEmpty {
            let size = Int.random(in: 1...600, using: &random)
            let batch = Array(rest.prefix(size))
            rest = rest.dropFirst(size)
            for case .rejected(let error) in try t.apply(batch) { rejected.append(error.code) }
            try t.checkEverything()
        }
        // The generator models balances roughly (reversals at today's rate), so a
        // redemption may now and then ask for more than is left; nothing else is refused.
        #expect(rejected.allSatisfy { $0 == .insufficientPoints }, "\(rejected)")
        #expect(rejected.count < 30)
        #expect(t.ledger.state.records.count == 3_150 - rejected.count)
        #expect(try t.obligations().count > 300)
    }
}
