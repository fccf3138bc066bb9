import CoalitionGeneration
import CoalitionKit
import CoalitionTestSupport
import Testing

/// Builds records for one test, with record ids that never repeat unless asked to.
struct RecordMaker {
    var counter = 0

    mutating func key(_ partner: PartnerID, _ id: String? = nil) -> RecordKey {
        counter += 1
        return try! RecordKey(partner: partner, recordID: id ?? "R\(counter)")
    }

    mutating func enroll(
        _ member: MemberNumber,
        at partner: PartnerID,
        _ time: String,
        id: String? = nil
    )
        -> LedgerRecord
    {
        LedgerRecord(key: key(partner, id), occurredAt: Fixtures.time(time), body: .enroll(member: member))
    }

    mutating func earn(
        _ member: MemberNumber,
        _ units: Int64,
        at partner: PartnerID,
        _ time: String,
        id: String? = nil
    ) -> LedgerRecord {
        LedgerRecord(key: key(partner, id), occurredAt: Fixtures.time(time), body: .earn(member: member, units: units))
    }

    mutating func redeem(
        _ member: MemberNumber,
        _ units: Int64,
        at partner: PartnerID,
        _ time: String,
        id: String? = nil
    ) -> LedgerRecord {
        LedgerRecord(
            key: key(partner, id),
            occurredAt: Fixtures.time(time),
            body: .redeem(member: member, units: units)
        )
    }

    mutating func reverse(
        _ original: LedgerRecord,
        _ units: Int64? = nil,
        _ time: String,
        id: String? = nil
    ) -> LedgerRecord {
        LedgerRecord(
            key: key(original.key.partner, id),
            occurredAt: Fixtures.time(time),
            body: .reverse(original: original.key.recordID, units: units)
        )
    }
}

/// A ledger on the demo network over an in-memory store.
struct TestLedger {
    let store = InMemoryStore()
    let ledger: Ledger
    var batch = 0

    init(network: Network = Fixtures.network) throws {
        ledger = try Ledger(network: network, store: store)
    }

    /// A ledger with generated activity applied: `members` enrolled, then `records` records
    /// over 30 days from 2026-03-01.
    static func generated(members: Int, records: Int, seed: UInt64) throws -> TestLedger {
        var t = try TestLedger()
        let activity = ActivityGenerator.generate(
            network: Fixtures.network,
            plan: ActivityGenerator.Plan(
                members: members,
                records: records,
                start: Fixtures.time("2026-03-01T00:00:00Z"),
                days: 30,
                seed: seed
            )
        )
        try t.apply(activity.enrollments)
        try t.apply(activity.activity)
        return t
    }

    /// Applies `records` as one batch and returns the outcomes.
    @discardableResult
    mutating func apply(_ records: [LedgerRecord]) throws -> [RecordOutcome] {
        batch += 1
        return try ledger.apply(records, info: BatchInfo(source: "test \(batch)", receivedAt: Timestamp(seconds: 0)))
    }

    /// Applies one record that must be accepted and returns its points.
    @discardableResult
    mutating func accept(_ record: LedgerRecord, sourceLocation: SourceLocation = #_sourceLocation) throws -> Int64 {
        let outcome = try apply([record])[0]
        guard case .accepted(let points) = outcome else {
            Issue.record("\(record.key) was rejected: \(outcome)", sourceLocation: sourceLocation)
            return 0
        }
        return points
    }

    /// Applies one record that must be rejected with `code`; returns the error.
    @discardableResult
    mutating func reject(
        _ record: LedgerRecord,
        _ code: ReasonCode,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> CoalitionError? {
        let outcome = try apply([record])[0]
        guard case .rejected(let error) = outcome else {
            Issue.record("\(record.key) was accepted, expected \(code)", sourceLocation: sourceLocation)
            return nil
        }
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        #expect(error.place.recordID == record.key.recordID, sourceLocation: sourceLocation)
        return error
    }

    func balance(_ member: MemberNumber) -> Int64 { ledger.member(member)?.balance ?? 0 }

    func lots(_ member: MemberNumber) -> [Lot] { ledger.member(member)?.lots ?? [] }

    func debts(_ member: MemberNumber) -> [Lot] { ledger.member(member)?.debts ?? [] }

    func obligations() throws -> [Obligation] { try store.obligations(openOnly: false) }

    /// The sum of obligations from `debtor` to `creditor`, in minor units.
    func owed(_ debtor: PartnerID, _ creditor: PartnerID) throws -> Int64 {
        try obligations().filter { $0.debtor == debtor && $0.creditor == creditor }.reduce(0) { $0 + $1.amount }
    }

    func issuerLiability(_ partner: PartnerID) -> Int64 {
        -ledger.balance(of: AccountKey(Account.issuer(partner), Account.points))
    }

    /// Invariants, audit, and the store loading back exactly the state in memory. With
    /// `strict`, a member who owes a debt may hold no lot at all, not even an expired one.
    func checkEverything(strict: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let latest = store.content.postings.map(\.occurredAt).max()
        #expect(throws: Never.self, sourceLocation: sourceLocation) {
            try Invariants.check(ledger.state, asOf: latest)
        }
        if strict {
            #expect(throws: Never.self, sourceLocation: sourceLocation) { try Invariants.check(ledger.state) }
        }
        let report = try Audit.run(ledger)
        #expect(report.problems == [], sourceLocation: sourceLocation)
        #expect(report.postings == ledger.state.lastSeq, sourceLocation: sourceLocation)
        #expect(StateImage(try store.load()) == StateImage(ledger.state), sourceLocation: sourceLocation)
    }
}
