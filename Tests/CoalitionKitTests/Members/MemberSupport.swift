import CoalitionTestSupport
import Testing

// `@testable` for the memberwise initializers of `Tier` and `TransferLimits`, which have no
// public one: the tests build networks with their own tiers and limits.
@testable import CoalitionKit

/// Networks for the member tests: the demo network's partners and clearing settings, with
/// tiers, limits, a time zone and a points lifetime of the test's choosing.
enum MemberNetworks {
    static let blue = Tier(name: "Blue", qualifyingPoints: 0, bonusPercent: 0)
    static let silver = Tier(name: "Silver", qualifyingPoints: 1_000, bonusPercent: 10)
    static let gold = Tier(name: "Gold", qualifyingPoints: 3_000, bonusPercent: 25)
    static let platinum = Tier(name: "Platinum", qualifyingPoints: 8_000, bonusPercent: 50)

    /// Limits that refuse nothing a test does not ask them to.
    static func limits(
        minimum: Int64 = 1,
        step: Int64 = 1,
        maximumPerTransfer: Int64 = 1_000_000_000,
        sentPerYear: Int64? = nil,
        receivedPerYear: Int64? = nil,
        transfersPerDay: Int64? = nil,
        transfersPerMonth: Int64? = nil,
        transfersPerYear: Int64? = nil,
        feePoints: Int64 = 0
    ) -> TransferLimits {
        TransferLimits(
            minimum: minimum,
            step: step,
            maximumPerTransfer: maximumPerTransfer,
            sentPerYear: sentPerYear,
            receivedPerYear: receivedPerYear,
            transfersPerDay: transfersPerDay,
            transfersPerMonth: transfersPerMonth,
            transfersPerYear: transfersPerYear,
            feePoints: feePoints
        )
    }

    static func make(
        lifetimeDays: Int64 = 540,
        utcOffsetMinutes: Int64 = 0,
        tiers: [Tier] = [blue, silver, gold, platinum],
        tierWindowDays: Int64 = 30,
        downgradePolicy: DowngradePolicy = .oneTier,
        limits: TransferLimits = limits()
    ) -> Network {
        Network(
            name: "members test",
            pointsLifetimeDays: lifetimeDays,
            utcOffsetMinutes: utcOffsetMinutes,
            tiers: tiers,
            tierWindowDays: tierWindowDays,
            downgradePolicy: downgradePolicy,
            transferLimits: limits,
            clearing: Fixtures.network.clearing,
            partners: Fixtures.network.sortedPartners
        )
    }
}

extension TestLedger {
    /// Moves `points` from `from` to `to` at `time`, as `coalition member transfer` does.
    @discardableResult
    func transfer(
        _ from: MemberNumber,
        _ to: MemberNumber,
        _ points: Int64,
        _ time: String,
        key: String? = nil
    ) throws -> TransferResult {
        try ledger.transfer(
            TransferRequest(from: from, to: to, points: points, idempotencyKey: key, at: Fixtures.time(time))
        )
    }

    /// A transfer that must be refused with `code`, leaving the ledger and its store exactly
    /// as they were; returns the error.
    @discardableResult
    func refuseTransfer(
        _ from: MemberNumber,
        _ to: MemberNumber,
        _ points: Int64,
        _ time: String,
        key: String? = nil,
        _ code: ReasonCode,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> CoalitionError? {
        let before = StateImage(ledger.state)
        let content = store.content
        let error = expectError(code, sourceLocation: sourceLocation) {
            try transfer(from, to, points, time, key: key)
        }
        #expect(StateImage(ledger.state) == before, sourceLocation: sourceLocation)
        let storeIsUnchanged = store.content == content
        #expect(storeIsUnchanged, "the store changed", sourceLocation: sourceLocation)
        return error
    }

    /// The points `issuer`'s expired lots became, less what reversals booked back.
    func breakage(_ issuer: PartnerID) -> Int64 {
        ledger.balance(of: AccountKey(Account.breakage(issuer), Account.points))
    }

    /// The issuer's own points account (minus what it issued and still stands behind).
    func issuerAccount(_ issuer: PartnerID) -> Int64 {
        ledger.balance(of: AccountKey(Account.issuer(issuer), Account.points))
    }

    func account(_ member: MemberNumber) throws -> MemberAccount { try #require(ledger.member(member)) }

    func tier(_ member: MemberNumber) -> String {
        ledger.member(member).map { ledger.network.tiers[$0.tier].name } ?? "?"
    }

    func qualifying(_ member: MemberNumber, at time: String) -> Int64 {
        ledger.member(member)?.qualifyingPoints(at: Fixtures.time(time), windowDays: ledger.network.tierWindowDays)
            ?? 0
    }

    /// Every point traces to one issuer: per issuer, what members' lots and debts hold is
    /// the issuer's outstanding liability.
    func expectLotsTraceToIssuers(sourceLocation: SourceLocation = #_sourceLocation) {
        var held: [PartnerID: Int64] = [:]
        for account in ledger.state.members.values {
            for lot in account.lots + account.debts { held[lot.issuer, default: 0] += lot.points }
        }
        for partner in ledger.network.sortedPartners {
            #expect(
                held[partner.id, default: 0] == ledger.outstanding(partner.id),
                "\(partner.id)",
                sourceLocation: sourceLocation
            )
        }
        #expect(Set(held.keys).isSubset(of: Set(ledger.network.partners.keys)), sourceLocation: sourceLocation)
    }

    /// Closes `member` the way only the store can today: a member row written closed, then
    /// the ledger opened again on the store. Returns the reopened ledger.
    func closing(_ member: MemberNumber) throws -> Ledger {
        var account = try #require(ledger.member(member))
        account.isClosed = true
        var write = LedgerWrite(batchID: ledger.state.lastBatch + 1)
        write.members[member] = account
        write.memberRows.insert(member)
        try store.begin()
        try store.write(write)
        try store.finish(
            BatchSummary(id: write.batchID, info: BatchInfo(source: "close", receivedAt: Timestamp(seconds: 0)))
        )
        return try Ledger(network: ledger.network, store: store)
    }
}
