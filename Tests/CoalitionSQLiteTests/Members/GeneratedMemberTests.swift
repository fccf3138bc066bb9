import CoalitionGeneration
import CoalitionKit
import CoalitionPostgreSQL
import CoalitionSQLite
import CoalitionTestSupport
import Foundation
import Testing

@Suite("SQLiteStore: generated member activity, reopened as it goes")
struct GeneratedMemberTests {
    @Test(
        "records, transfers, expiry runs and tier reviews: every reopening, from the tables or the state file, loads the state the ledger held"
    )
    func reopenAsItGoes() throws { try GeneratedMemberTests.reopenAsItGoes(on: .sqlite) }

    /// The generated run on `engine`; the state file's checks apply to SQLite's store alone.
    static func reopenAsItGoes(on engine: StoreEngine) throws {
        let place = try LedgerPlace(engine)
        defer { place.remove() }
        let network = MemberPersistenceTests.network
        var plan = ActivityGenerator.Plan(
            members: 60,
            records: 1_500,
            start: Fixtures.time("2026-03-01T00:00:00Z"),
            days: 90,
            seed: 0x5EED_4E4B
        )
        plan.reversalPercent = 6
        let generated = ActivityGenerator.generate(network: network, plan: plan)
        let members = generated.enrollments.compactMap { record -> MemberNumber? in
            if case .enroll(let number, _) = record.body { return number }
            return nil
        }
        var random = SeededGenerator(seed: 0x5EED)
        var store = try place.create()
        var ledger = try Ledger(network: network, store: store)
        try ledger.apply(generated.enrollments, info: Fixtures.info)
        var rest = generated.activity[...]
        var step = 0
        var moved = 0
        var refused = 0
        var expired = 0
        var reviewed = 0
        var reopened = 0
        while !rest.isEmpty {
            step += 1
            let batch = Array(rest.prefix(Int.random(in: 20...120, using: &random)))
            rest = rest.dropFirst(batch.count)
            try ledger.apply(batch, info: Fixtures.info)
            let now = batch.map(\.occurredAt).max()!
            for index in 0..<Int.random(in: 1...6, using: &random) {
                let from = members[Int.random(in: 0..<members.count, using: &random)]
                let to = members[Int.random(in: 0..<members.count, using: &random)]
                let available = ledger.member(from)?.available(at: now) ?? 0
                let points = max(10, Int64.random(in: 0...max(0, available), using: &random))
                let at = now.adding(seconds: Int64.random(in: -86_400...3_600, using: &random))
                let key = random.chance(70) ? "g-\(step)-\(index)" : nil
                do {
                    let result = try ledger.transfer(
                        TransferRequest(from: from, to: to, points: points, idempotencyKey: key, at: at)
                    )
                    #expect(!result.isReplay)
                    moved += 1
                } catch let error as CoalitionError {
                    #expect(
                        [.transferLimitExceeded, .insufficientPoints, .sameMember, .effectiveTimeRefused].contains(
                            error.code
                        ),
                        "\(error)"
                    )
                    refused += 1
                }
            }
            if step % 3 == 0 {
                expired += try ledger.expire(asOf: now, now: now).lots
            }
            if step % 5 == 0 {
                reviewed += try ledger.reviewTiers(asOf: now, now: now).count
            }
            if step % 2 == 0 {
                let before = StateImage(ledger.state)
                let changes = try members.map { try store.tierChanges(member: $0) }
                // Every other reopening goes through the saved state file; the others find
                // the file an earlier one saved stale (a batch came since) and read the tables.
                let saving = step % 4 == 0
                if saving { try ledger.saveState() }
                store = try place.open()
                ledger = try Ledger(network: network, store: store)
                reopened += 1
                #expect(StateImage(ledger.state) == before, "step \(step)")
                if let sqlite = store as? SQLiteStore {
                    #expect(sqlite.loadedFromStateFile == saving, "step \(step)")
                    #expect(try sqlite.stateFileProblems(ledger.state) == [], "step \(step)")
                }
                if let postgreSQL = store as? PostgreSQLStore {
                    #expect(postgreSQL.loadedFromSnapshot == saving, "step \(step)")
                    #expect(try postgreSQL.snapshotProblems(ledger.state) == [], "step \(step)")
                }
                #expect(try members.map { try store.tierChanges(member: $0) } == changes, "step \(step)")
            }
        }
        let report = try Audit.run(ledger)
        #expect(report.problems == [])
        #expect(report.postings == ledger.state.lastSeq)
        // The run did what it is meant to.
        #expect(moved > 20)
        #expect(refused > 5)
        #expect(expired > 50)
        #expect(reviewed > 0)
        #expect(reopened > 5)
        #expect(ledger.state.members.values.contains { $0.tier > 0 })
        #expect(ledger.state.members.values.contains { !$0.qualifying.isEmpty })
        #expect(ledger.state.members.values.contains { !$0.transfers.isEmpty })
    }
}
