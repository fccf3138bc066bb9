import CoalitionFiles
import CoalitionGeneration
import CoalitionKit
import CoalitionSQLite
import CoalitionTestSupport
import Foundation
import Testing

/// The store tests' own fixtures, beside the shared ones (`CoalitionTestSupport`).
extension Fixtures {
    static let info = BatchInfo(source: "test", receivedAt: Timestamp(seconds: 1_780_000_000))

    /// Seeded demo activity: enrollments, then earns, redemptions and reversals.
    static func activity(seed: UInt64, members: Int = 80, records: Int = 1_200) -> [LedgerRecord] {
        let plan = ActivityGenerator.Plan(
            members: members,
            records: records,
            start: time("2026-09-01T00:00:00Z"),
            days: 60,
            seed: seed
        )
        let generated = ActivityGenerator.generate(network: network, plan: plan)
        return generated.enrollments + generated.activity
    }

    /// `records` cut into batches of seeded, varying sizes.
    static func batches(_ records: [LedgerRecord], seed: UInt64) -> [[LedgerRecord]] {
        var random = SeededGenerator(seed: seed)
        var out: [[LedgerRecord]] = []
        var rest = records[...]
        while !rest.isEmpty {
            let size = Int.random(in: 1...250, using: &random)
            out.append(Array(rest.prefix(size)))
            rest = rest.dropFirst(size)
        }
        return out
    }
}
