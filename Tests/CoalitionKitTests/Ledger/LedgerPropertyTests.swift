import CoalitionFiles
import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

@Suite("Ledger: invariants over generated mixed batches")
struct LedgerPropertyTests {
    /// A network to run on, and how long a generated run lasts.
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let records: Int
        let seed: UInt64
        let days: Int64

        var testDescription: String { "\(name): \(records) records over \(days) days" }
    }

    static let cases = [
        Case(name: "demo", records: 10_000, seed: 0xC0A1, days: 650),
        Case(name: "odd", records: 4_000, seed: 0x0DD, days: 40),
    ]

    /// A network with rates above and below one point per unit, currencies with 0, 2 and 3
    /// decimals, a rate change and a short points lifetime, written to `directory`.
    static func oddNetwork(in directory: TemporaryDirectory) throws -> Network {
        func key(_ id: String) -> String {
            "{ \"id\": \"\(id)\", \"validFrom\": \"2025-01-01\", \"file\": \"keys/\(id).key\", \"demo\": true }"
        }
        let files = [
            "network.json": """
            { "name": "odd", "pointsLifetimeDays": 20, "utcOffsetMinutes": 0, "tierWindowDays": 365,
              "downgradePolicy": "to-qualified", "tiers": [{ "name": "Base", "qualifyingPoints": 0, "bonusPercent": 0 }],
              "transferLimits": { "minimum": 1, "step": 1, "maximumPerTransfer": 1000 },
              "clearing": { "feeBasisPoints": 0, "acceptedPastDays": 10, "acceptedFutureMinutes": 1 } }
            """,
            "alpha.json": """
            { "id": "ALPHA", "name": "Alpha Air", "kind": "airline", "unit": { "code": "MILE", "name": "miles" },
              "earnRates": [{ "from": "2025-01-01", "pointsPerUnit": "7/3" },
                            { "from": "2025-02-20T12:00:00Z", "pointsPerUnit": "2" }],
              "settlementCurrency": "JPY", "redemptionValues": [{ "from": "2025-01-01", "valuePerPoint": "0.37" }],
              "keys": [\(key("ALPHA-1"))] }
            """,
            "beta.json": """
            { "id": "BETA", "name": "Beta Beds", "kind": "hotel", "unit": { "code": "BPT", "name": "beta points" },
              "earnRates": [{ "from": "2025-01-01", "pointsPerUnit": "1/7" }],
              "settlementCurrency": "BHD", "redemptionValues": [{ "from": "2025-01-01", "valuePerPoint": "0.0013" }],
              "keys": [\(key("BETA-1"))] }
            """,
            "gamma.json": """
            { "id": "GAMMA", "name": "Gamma Goods", "kind": "retail", "unit": { "code": "EURC", "name": "euro cents" },
              "earnRates": [{ "from": "2025-01-01", "pointsPerUnit": "0.0125" }],
              "settlementCurrency": "EUR", "redemptionValues": [{ "from": "2025-01-01", "valuePerPoint": "0.0085" },
                                                                { "from": "2025-03-01", "valuePerPoint": "0.0095" }],
              "keys": [\(key("GAMMA-1"))] }
            """,
        ]
        for (name, text) in files {
            try Data(text.utf8).write(to: URL(fileURLWithPath: directory.file(name)))
        }
        return try NetworkLoader.load(directory: directory.path)
    }

    @Test("every batch keeps the invariants, audits clean, reloads equal, and replays as duplicates", arguments: cases)
    func generated(_ run: Case) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let network = run.name == "demo" ? Fixtures.network : try Self.oddNetwork(in: directory)
        var t = try TestLedger(network: network)
        let start = Fixtures.time("2025-02-01T00:00:00Z")
        var generator = OperationGenerator(
            network: network,
            seed: run.seed,
            start: start,
            step: run.days * 86_400 / Int64(run.records)
        )
        var random = SeededGenerator(seed: run.seed ^ 0xBA7C4)
        var replayable: [[LedgerRecord]] = []
        var applied = 0
        var batches = 0
        var accepted: [String: Int] = [:]
        var rejected: [ReasonCode: Int] = [:]
        var membersInDebt = 0
        while applied < run.records {
            batches += 1
            let size =
                switch Int.random(in: 0..<10, using: &random) {
                case 0: Int.random(in: 0...3, using: &random)
                case 1, 2, 3: Int.random(in: 150...400, using: &random)
                default: Int.random(in: 20...150, using: &random)
                }
            let planned = generator.makeBatch(size, ledger: t.ledger)
            let records = planned.map(\.record)

            // Now and then the store fails to commit: nothing may change.
            if batches % 7 == 3 {
                let before = StateImage(t.ledger.state)
                let content = t.store.content
                t.store.failNextCommit = true
                expectError(.storeFailure) {
                    try t.ledger.apply(records, info: BatchInfo(source: "failing", receivedAt: start))
                }
                #expect(StateImage(t.ledger.state) == before)
                #expect(t.store.content == content)
            }

            let members = Set(planned.compactMap(\.member))
            let balancesBefore = Dictionary(uniqueKeysWithValues: members.map { ($0, t.balance($0)) })
            // Outcomes count only live points (docs/ledger.md, "Dead points"): the check below
            // leaves out a member who holds points past their expiry, or whose records in the
            // batch are not in time order (a lot alive at one record's time may be dead at
            // another's, applied before it).
            let latest = records.map(\.occurredAt).max() ?? Timestamp(seconds: 0)
            func holdsDead(_ member: MemberNumber) -> Bool {
                (t.ledger.member(member)?.expiredPending(at: latest) ?? 0) != 0
            }
            func inOrder(_ member: MemberNumber) -> Bool {
                let times = planned.filter { $0.member == member }.map(\.record.occurredAt)
                return times == times.sorted()
            }
            let deadBefore = Set(members.filter(holdsDead))
            let outcomes = try t.apply(records)
            #expect(outcomes.count == records.count)

            var pointsByMember: [MemberNumber: Int64] = [:]
            for (index, (plan, outcome)) in zip(planned, outcomes).enumerated() {
                var expectation = plan.expectation
                if let first = plan.duplicateOf, outcomes[first].isAccepted {
                    expectation = .rejected(.duplicateRecord)
                }
                switch (expectation, outcome) {
                case (.accepted, .rejected(let error)):
                    Issue.record("batch \(batches) record \(index) \(plan.record.body) was rejected: \(error)")
                case (.rejected(let code), .accepted):
                    Issue.record("batch \(batches) record \(index) \(plan.record.body) was accepted, expected \(code)")
                case (.rejected(let code), .rejected(let error)):
                    #expect(error.code == code, "batch \(batches) record \(index) \(plan.record.body)")
                default:
                    break
                }
                switch outcome {
                case .accepted(let points):
                    if let member = plan.member { pointsByMember[member, default: 0] += points }
                    accepted["\(plan.record.body)".prefix { $0 != "(" }.description, default: 0] += 1
                case .rejected(let error):
                    #expect(error.place.recordID == plan.record.key.recordID)
                    rejected[error.code, default: 0] += 1
                }
            }
            // What each outcome says a member gained or lost is what their balance did.
            for member in members where !deadBefore.contains(member) && !holdsDead(member) && inOrder(member) {
                #expect(
                    t.balance(member) - (balancesBefore[member] ?? 0) == pointsByMember[member] ?? 0,
                    "batch \(batches): member \(member)"
                )
            }
            generator.observe(planned, outcomes)
            // On the short-lived network lots expire while members owe debts.
            try t.checkEverything(strict: run.name == "demo")
            membersInDebt = max(membersInDebt, t.ledger.state.members.values.filter { !$0.debts.isEmpty }.count)

            // What the batch applied, and its duplicates, are duplicates from now on.
            replayable.append(
                zip(records, outcomes).compactMap { record, outcome in
                    if case .rejected(let error) = outcome, error.code != .duplicateRecord { return nil }
                    return record
                }
            )
            let replay = replayable[Int.random(in: 0..<replayable.count, using: &random)]
            let before = StateImage(t.ledger.state, includingBatchLog: false)
            let postings = t.store.content.postings.count
            let lastBatch = t.ledger.state.lastBatch
            let replayed = try t.apply(replay)
            for outcome in replayed {
                guard case .rejected(let error) = outcome, error.code == .duplicateRecord else {
                    Issue.record("a replayed record was not a duplicate: \(outcome)")
                    continue
                }
            }
            #expect(StateImage(t.ledger.state, includingBatchLog: false) == before)
            #expect(t.store.content.postings.count == postings)
            #expect(t.ledger.state.lastBatch == lastBatch + 1)
            applied += records.count
        }

        // The run exercised what it is meant to.
        #expect(batches >= 20)
        #expect(accepted["enroll", default: 0] > run.records / 20)
        #expect(accepted["earn", default: 0] > run.records / 4)
        #expect(accepted["redeem", default: 0] > run.records / 10)
        #expect(accepted["reverse", default: 0] > run.records / 40)
        #expect(membersInDebt > 0)
        for code in [
            ReasonCode.duplicateRecord, .unknownMember, .memberExists, .badAmount, .rateNotInForce, .insufficientPoints,
            .notReversible, .unknownOriginal, .unknownPartner,
        ] {
            #expect(rejected[code, default: 0] > 0, "no record was rejected with \(code)")
        }
        #expect(try t.obligations().contains { $0.amount < 0 })
        #expect(try t.obligations().count > run.records / 20)
    }
}
