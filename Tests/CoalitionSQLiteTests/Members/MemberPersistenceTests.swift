import CoalitionSQLite
import CoalitionTestSupport
import Foundation
import Testing

// `@testable` for the memberwise initializers of `Tier` and `TransferLimits`: the tests
// build a network with short-lived points, low tiers and every transfer limit.
@testable import CoalitionKit

@Suite("SQLiteStore: what members do survives reopening")
struct MemberPersistenceTests {
    let skyways = try! PartnerID("SKYWAYS")
    let harbor = try! PartnerID("HARBOR")
    let alice = try! MemberNumber.withCheckDigit(910_000_001)
    let bob = try! MemberNumber.withCheckDigit(910_000_002)
    let carol = try! MemberNumber.withCheckDigit(910_000_003)

    /// Points live 20 days; Silver at 1,000 (10 %), Gold at 3,000 (25 %) over 30 days; at
    /// UTC+1 one transfer a day, with a 5-point fee.
    static let network = Network(
        name: "members on SQLite",
        pointsLifetimeDays: 20,
        utcOffsetMinutes: 60,
        tiers: [
            Tier(name: "Blue", qualifyingPoints: 0, bonusPercent: 0),
            Tier(name: "Silver", qualifyingPoints: 1_000, bonusPercent: 10),
            Tier(name: "Gold", qualifyingPoints: 3_000, bonusPercent: 25),
        ],
        tierWindowDays: 30,
        downgradePolicy: .oneTier,
        transferLimits: TransferLimits(
            minimum: 10,
            step: 1,
            maximumPerTransfer: 50_000,
            sentPerYear: 200_000,
            receivedPerYear: 200_000,
            transfersPerDay: 1,
            transfersPerMonth: 20,
            transfersPerYear: 100,
            feePoints: 5
        ),
        clearing: Fixtures.network.clearing,
        partners: Fixtures.network.sortedPartners
    )

    func time(_ text: String) -> Timestamp { Fixtures.time(text) }

    func record(_ partner: PartnerID, _ id: String, _ at: String, _ body: LedgerRecord.Body) -> LedgerRecord {
        LedgerRecord(key: try! RecordKey(partner: partner, recordID: id), occurredAt: time(at), body: body)
    }

    func accept(_ ledger: Ledger, _ records: LedgerRecord..., sourceLocation: SourceLocation = #_sourceLocation) throws
    {
        let outcomes = try ledger.apply(records, info: Fixtures.info)
        let allAccepted = outcomes.allSatisfy(\.isAccepted)
        #expect(allAccepted, "\(outcomes)", sourceLocation: sourceLocation)
    }

    func transfer(
        _ ledger: Ledger,
        _ from: MemberNumber,
        _ to: MemberNumber,
        _ points: Int64,
        _ at: String,
        key: String? = nil
    )
        throws -> TransferResult
    {
        try ledger.transfer(TransferRequest(from: from, to: to, points: points, idempotencyKey: key, at: time(at)))
    }

    func open(_ directory: TemporaryDirectory) throws -> (Ledger, SQLiteStore) {
        let store = try SQLiteStore(path: directory.ledgerPath)
        return (try Ledger(network: Self.network, store: store), store)
    }

    @Test("tier, qualifying days, tier changes, transfer marks and expired lots load back exactly")
    func reopen() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var before: StateImage
        var tierChanges: [MemberNumber: [TierChange]] = [:]
        var expired: [ExpiredLot] = []
        do {
            let store = try SQLiteStore(path: directory.ledgerPath, create: true)
            let ledger = try Ledger(network: Self.network, store: store)
            try accept(
                ledger,
                record(skyways, "E1", "2026-03-01T00:00:00Z", .enroll(member: alice)),
                record(skyways, "E2", "2026-03-01T00:00:00Z", .enroll(member: bob)),
                record(harbor, "E3", "2026-03-01T00:00:00Z", .enroll(member: carol))
            )
            // alice: Silver on 03-02, Gold on 03-05 (the Gold earn has a Silver bonus).
            try accept(
                ledger,
                record(skyways, "S1", "2026-03-02T10:00:00Z", .earn(member: alice, units: 2_000)),
                record(harbor, "H1", "2026-03-05T10:00:00Z", .earn(member: alice, units: 6_000)),
                record(skyways, "S2", "2026-03-06T10:00:00Z", .earn(member: bob, units: 1_000))
            )
            #expect(ledger.member(alice)?.tier == 2)
            #expect(ledger.member(alice)?.qualifying.count == 2)
            // Transfers: one with a key; one backdated before a member's latest movement, refused.
            #expect(try transfer(ledger, alice, bob, 300, "2026-03-08T12:00:00Z", key: "t-1").fee == 5)
            // Backdated before bob's latest movement: refused (EFFECTIVE_TIME_REFUSED).
            #expect(throws: CoalitionError.self) { try transfer(ledger, bob, carol, 100, "2026-03-07T12:00:00Z") }
            _ = try transfer(ledger, bob, carol, 100, "2026-03-08T13:00:00Z")
            _ = try transfer(ledger, alice, carol, 50, "2026-03-09T12:00:00Z")
            #expect(ledger.member(bob)?.transfers.map(\.sent) == [false, true])
            // Everything earned before 03-22 ends; HARBOR reverses part of its expired earn.
            let expiry = try ledger.expire(asOf: time("2026-03-26T00:00:00Z"), now: time("2026-03-26T00:00:00Z"))
            #expect(expiry.lots > 3)
            let reversal = record(harbor, "H2", "2026-03-27T00:00:00Z", .reverse(original: "H1", units: 1_500))
            #expect(try ledger.apply([reversal], info: Fixtures.info) == [.accepted(points: 0)])
            // The reversal takes back the Gold its earn reached: what is left supports Silver.
            #expect(ledger.member(alice)?.tier == 1)
            let changes = try ledger.reviewTiers(asOf: time("2026-04-20T00:00:00Z"), now: time("2026-04-20T00:00:00Z"))
            #expect(changes.map(\.to) == ["Blue"])
            for member in [alice, bob, carol] { tierChanges[member] = try store.tierChanges(member: member) }
            #expect(tierChanges[alice]?.count == 4)
            let lotIDs = 1...ledger.state.lastLotID
            expired = try lotIDs.compactMap { try store.expiredLot($0) }
            #expect(expired.contains { $0.reversed == 500 })
            before = StateImage(ledger.state)
            #expect(try Audit.run(ledger).problems == [])
        }
        let (ledger, store) = try open(directory)
        #expect(StateImage(ledger.state) == before)
        #expect(ledger.member(alice)?.tier == 0)
        #expect(ledger.member(alice)?.tierSince == time("2026-04-20T00:00:00Z"))
        for member in [alice, bob, carol] { #expect(try store.tierChanges(member: member) == tierChanges[member]) }
        #expect(try (1...ledger.state.lastLotID).compactMap { try store.expiredLot($0) } == expired)
        #expect(try Audit.run(ledger).problems == [])

        // The reopened ledger goes on where it was: the key's first result, the daily limit
        // counted with marks made before, the rest of the expired earn booked back.
        let replay = try transfer(ledger, alice, bob, 300, "2026-04-21T00:00:00Z", key: "t-1")
        #expect(replay.isReplay)
        #expect(replay.fee == 5)
        // A transfer back on the day of the others is now refused for its time, before any limit.
        expectError(.effectiveTimeRefused) { try transfer(ledger, alice, bob, 20, "2026-03-08T23:30:00Z") }
        let breakage = ledger.balance(of: AccountKey(Account.breakage(harbor), Account.points))
        #expect(
            try ledger.apply(
                [record(harbor, "H3", "2026-04-21T00:00:00Z", .reverse(original: "H1", units: nil))],
                info: Fixtures.info
            ) == [.accepted(points: 0)]
        )
        // 2,000 − 500 points and 200 − 50 bonus.
        #expect(ledger.balance(of: AccountKey(Account.breakage(harbor), Account.points)) == breakage - 1_650)
        let after = StateImage(ledger.state)
        #expect(StateImage(try open(directory).0.state) == after)
    }

    @Test("a closed member is closed after reopening, and cannot send or receive")
    func closedMember() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        do {
            let store = try SQLiteStore(path: directory.ledgerPath, create: true)
            let ledger = try Ledger(network: Self.network, store: store)
            try accept(
                ledger,
                record(skyways, "E1", "2026-03-01T00:00:00Z", .enroll(member: alice)),
                record(skyways, "E2", "2026-03-01T00:00:00Z", .enroll(member: bob)),
                record(skyways, "S1", "2026-03-02T00:00:00Z", .earn(member: alice, units: 2_000))
            )
            try store.executeForTesting("UPDATE members SET closed = 1 WHERE number = \(bob.value)")
        }
        let (ledger, _) = try open(directory)
        #expect(ledger.member(bob)?.isClosed == true)
        let before = StateImage(ledger.state)
        expectError(.memberClosed) { try transfer(ledger, alice, bob, 100, "2026-03-03T00:00:00Z") }
        expectError(.memberClosed) { try transfer(ledger, bob, alice, 100, "2026-03-03T00:00:00Z") }
        #expect(StateImage(ledger.state) == before)
    }

    @Test("a transfer that repays the receiver's debt makes an obligation the store reads back")
    func transferRepaysDebt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var before: StateImage
        var obligations: [Obligation]
        do {
            let store = try SQLiteStore(path: directory.ledgerPath, create: true)
            let ledger = try Ledger(network: Self.network, store: store)
            try accept(
                ledger,
                record(skyways, "E1", "2026-03-01T00:00:00Z", .enroll(member: alice)),
                record(harbor, "E2", "2026-03-01T00:00:00Z", .enroll(member: bob)),
                record(skyways, "S1", "2026-03-02T00:00:00Z", .earn(member: alice, units: 2_000)),
                record(harbor, "H1", "2026-03-02T00:00:00Z", .earn(member: bob, units: 900)),
                record(harbor, "H2", "2026-03-03T00:00:00Z", .redeem(member: bob, units: 900)),
                record(harbor, "H3", "2026-03-04T00:00:00Z", .reverse(original: "H1", units: nil))
            )
            #expect(ledger.member(bob)?.balance == -300)
            _ = try transfer(ledger, alice, bob, 500, "2026-03-05T00:00:00Z")
            #expect(ledger.member(bob)?.balance == 200)
            obligations = try store.obligations(openOnly: false)
            #expect(obligations.count == 1)
            #expect(obligations.first?.source.partner == .transfers)
            #expect(obligations.first?.debtor == skyways)
            #expect(obligations.first?.creditor == harbor)
            #expect(try Audit.run(ledger).problems == [])
            before = StateImage(ledger.state)
        }
        let (ledger, store) = try open(directory)
        #expect(StateImage(ledger.state) == before)
        #expect(try store.obligations(openOnly: true) == obligations)
        #expect(try Audit.run(ledger).problems == [])
    }
}
