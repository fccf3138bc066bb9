import CoalitionFiles
import CoalitionGeneration
import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

/// What a list of payments does to balances that start at zero: plus received, minus paid.
/// Participants left at zero are left out, as a clearing's nets leave them out.
func balances(after payments: [SettlementInstruction]) -> [Participant: Int64] {
    var out: [Participant: Int64] = [:]
    for payment in payments {
        out[payment.payer, default: 0] -= payment.amount
        out[payment.payee, default: 0] += payment.amount
    }
    return out.filter { $0.value != 0 }
}

/// The demo network's key rings, from `partners/keys/`.
enum DemoKeys {
    static let directory = (Fixtures.partnersDirectory as NSString).appendingPathComponent("keys")

    static func ring(_ partner: PartnerID) throws -> KeyRing {
        try KeyRing.load(try Fixtures.network.partner(partner), directory: directory)
    }

    static func ring(for partner: Partner) throws -> KeyRing { try KeyRing.load(partner, directory: directory) }
}

/// A ledger on the demo network with seeded activity applied in batches of the partners'
/// own (a batch per partner in turn, numbered per partner), so cycles name the batches.
struct ActivityLedger {
    var test: TestLedger
    var sequences: [PartnerID: Int64] = [:]
    let activity: [LedgerRecord]
    /// The first record of `activity` not applied yet.
    var next = 0

    init(seed: UInt64, members: Int = 120, records: Int = 2_400) throws {
        test = try TestLedger()
        let plan = ActivityGenerator.Plan(
            members: members,
            records: records,
            start: Fixtures.time("2026-09-01T00:00:00Z"),
            days: 60,
            seed: seed
        )
        let generated = ActivityGenerator.generate(network: Fixtures.network, plan: plan)
        activity = generated.activity
        try apply(generated.enrollments)
    }

    var ledger: Ledger { test.ledger }
    var store: InMemoryStore { test.store }

    /// Applies `records` in batches of up to 150, each attributed to the next partner in turn.
    mutating func apply(_ records: [LedgerRecord]) throws {
        let partners = Fixtures.network.sortedPartners.map(\.id)
        var rest = records[...]
        var turn = 0
        while !rest.isEmpty {
            let partner = partners[turn % partners.count]
            turn += 1
            sequences[partner, default: 0] += 1
            let info = BatchInfo(
                partner: partner,
                sequence: sequences[partner]!,
                source: "test",
                receivedAt: Timestamp(seconds: 0)
            )
            try ledger.apply(Array(rest.prefix(150)), info: info)
            rest = rest.dropFirst(150)
        }
    }

    /// Applies the next records of the activity (in time order), up to those dated `time`.
    mutating func apply(through time: Timestamp) throws {
        let end = activity[next...].firstIndex { $0.occurredAt > time } ?? activity.endIndex
        try apply(Array(activity[next..<end]))
        next = end
    }

    /// Closes a cycle through `through` that must close.
    func close(through: String, now: String) throws -> ClearingCycle {
        let result = try CycleCloser.close(ledger, through: Fixtures.time(through), now: Fixtures.time(now))
        return try #require(result.closedCycle, "the cycle through \(through) did not close")
    }
}
