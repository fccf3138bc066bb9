import CoalitionTestSupport
import Testing

@testable import CoalitionKit

@Suite("EffectiveSchedule: the value in force at an instant")
struct EffectiveScheduleTests {
    static let harbor = try! Fixtures.network.partner(Fixtures.harbor)

    @Test(
        "Harbor's earn rate before, at and after its boundaries",
        arguments: [
            ("2024-12-31T23:59:59Z", nil), ("2025-01-01T00:00:00Z", "1/3"), ("2025-01-01T00:00:01Z", "1/3"),
            ("2026-10-14T23:59:59Z", "1/3"), ("2026-10-15T00:00:00Z", "1/4"), ("2026-10-15T00:00:01Z", "1/4"),
            ("9999-12-31T23:59:59Z", "1/4"),
        ] as [(String, String?)]
    )
    func harborRates(time: String, expected: String?) throws {
        let at = Fixtures.time(time)
        let rate = Self.harbor.earnRates.value(at: at)
        #expect(rate == (try expected.map { try Rate(parsing: $0) }))
        if let expected {
            #expect(try Self.harbor.earnRate(at: at) == Rate(parsing: expected))
        } else {
            expectError(.rateNotInForce) { try Self.harbor.earnRate(at: at) }
            expectError(.rateNotInForce) { try Self.harbor.redemptionValue(at: at) }
        }
    }

    @Test("every instant around every boundary of a generated schedule gets the entry in force")
    func generated() throws {
        var random = SeededGenerator(seed: 0xE55)
        for _ in 0..<200 {
            let count = Int.random(in: 0...12, using: &random)
            var starts = Set<Int64>()
            while starts.count < count { starts.insert(Int64.random(in: 0...1_000_000, using: &random)) }
            let entries = starts.shuffled(using: &random).map {
                EffectiveSchedule<Int64>.Entry(from: Timestamp(seconds: $0), value: $0)
            }
            let schedule = EffectiveSchedule(entries)
            #expect(schedule.entries.map(\.from.seconds) == starts.sorted())
            // The value in force is the latest start at or before the instant.
            for start in starts {
                for probe in [start - 1, start, start + 1] {
                    let expected = starts.filter { $0 <= probe }.max()
                    #expect(schedule.value(at: Timestamp(seconds: probe)) == expected)
                }
            }
            #expect(schedule.value(at: Timestamp(seconds: -1)) == nil)
        }
    }
}
