import CoalitionKit
import CoalitionSQLite
import Foundation
import Testing

@Suite("SQLite: tiers, qualifying days, transfers and expired lots survive reopening")
struct MemberPersistenceTests {
    @Test("a ledger with transfers, tier changes and an expiry run reloads equal, and audits clean")
    func reload() throws {
        let directory = (NSTemporaryDirectory() as NSString).appendingPathComponent(
            "coalition-members-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/ledger.sqlite"
        let network = Fixtures.network
        let ledger = try Ledger(network: network, store: try SQLiteStore(path: path, create: true))
        var plan = ActivityGenerator.Plan(
            members: 50,
            records: 2_000,
            start: Fixtures.time("2026-03-01T00:00:00Z"),
            days: 120,
            seed: 11
        )
        plan.periodDays = 7
        let (enrollments, activity) = ActivityGenerator.generate(network: network, plan: plan)
        try ledger.apply(enrollments, info: Fixtures.info)
        try ledger.apply(activity, info: Fixtures.info)
        let at = activity.last!.occurredAt
        var moved = 0
        for i in 0..<20 {
            let request = TransferRequest(
                from: ActivityGenerator.memberNumber(i),
                to: ActivityGenerator.memberNumber(49 - i),
                points: 1_000,
                idempotencyKey: "p-\(i)",
                at: at.adding(seconds: Int64(i))
            )
            if (try? ledger.transfer(request)) != nil { moved += 1 }
        }
        #expect(moved > 0)
        _ = try ledger.reviewTiers(asOf: at, now: at)
        let expiry = try ledger.expire(asOf: at.adding(days: 560), now: at.adding(days: 560))
        #expect(expiry.points > 0)
        #expect(ledger.state.members.values.contains { $0.tier > 0 })
        #expect(ledger.state.members.values.contains { !$0.transfers.isEmpty })
        let reopened = try Ledger(network: network, store: try SQLiteStore(path: path))
        #expect(reopened.state.members == ledger.state.members)
        #expect(reopened.state.accounts == ledger.state.accounts)
        #expect(reopened.state.records == ledger.state.records)
        #expect(reopened.state.lastHash == ledger.state.lastHash)
        #expect(try Audit.run(reopened).isClean)
        let anyone = try #require(ledger.state.members.values.first { $0.tier > 0 }?.number)
        #expect(try !reopened.store.tierChanges(member: anyone).isEmpty)
    }
}
