import CoalitionTestSupport
import Testing

@testable import CoalitionKit

@Suite("Members: conservation over generated records, transfers, tier bonuses, reviews and expiry")
struct MemberPropertyTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let seed: UInt64
        let records: Int
        let transfers: Int
        let days: Int64
        let utcOffsetMinutes: Int64
        let policy: DowngradePolicy

        var testDescription: String {
            "\(records) records, \(transfers) transfers over \(days) days, UTC\(utcOffsetMinutes >= 0 ? "+" : "")"
                + "\(utcOffsetMinutes) min, \(policy.rawValue)"
        }
    }

    static let cases = [
        Case(seed: 0x7E4B, records: 9_000, transfers: 1_000, days: 300, utcOffsetMinutes: 60, policy: .oneTier),
        Case(seed: 0x51E7, records: 2_500, transfers: 400, days: 120, utcOffsetMinutes: -300, policy: .toQualified),
    ]

    /// Points live 25 days; low thresholds make many members upgrade; every limit is set and
    /// a transfer costs a fee.
    static func network(_ run: Case) -> Network {
        MemberNetworks.make(
            lifetimeDays: 25,
            utcOffsetMinutes: run.utcOffsetMinutes,
            tiers: [
                Tier(name: "Blue", qualifyingPoints: 0, bonusPercent: 0),
                Tier(name: "Silver", qualifyingPoints: 2_000, bonusPercent: 10),
                Tier(name: "Gold", qualifyingPoints: 6_000, bonusPercent: 25),
                Tier(name: "Platinum", qualifyingPoints: 15_000, bonusPercent: 50),
            ],
            tierWindowDays: 45,
            downgradePolicy: run.policy,
            limits: MemberNetworks.limits(
                minimum: 100,
                step: 10,
                maximumPerTransfer: 20_000,
                sentPerYear: 60_000,
                receivedPerYear: 80_000,
                transfersPerDay: 2,
                transfersPerMonth: 5,
                transfersPerYear: 12,
                feePoints: 7
            )
        )
    }

    enum StepKind {
        case records, transfers, expiry, review
    }

    /// What the limits must decide, worked out from the transfers this test saw accepted.
    struct TransferOracle {
        struct Mark {
            let at: Timestamp
            let points: Int64
            let sent: Bool
        }

        let network: Network
        var marks: [MemberNumber: [Mark]] = [:]
        var keys: [String: (MemberNumber, MemberNumber, Int64)] = [:]

        enum Verdict: Equatable {
            case moves
            case replay
            case refused(ReasonCode, String?)
        }

        func local(_ time: Timestamp) -> Timestamp { time.adding(seconds: network.utcOffsetMinutes * 60) }
        func day(_ time: Timestamp) -> Int64 { QualifyingDay.day(of: local(time)) }
        func month(_ time: Timestamp) -> Int { local(time).components.year * 12 + local(time).components.month }
        func year(_ time: Timestamp) -> Int { local(time).components.year }

        /// `movesBack`: the transfer's time is before either member's enrolment or latest
        /// movement (the journal's, not the engine's, answer).
        func verdict(_ request: TransferRequest, available: Int64, movesBack: Bool = false) -> Verdict {
            if let key = request.idempotencyKey, let first = keys[key] {
                return first == (request.from, request.to, request.points)
                    ? .replay : .refused(.idempotencyConflict, nil)
            }
            if request.from == request.to { return .refused(.sameMember, nil) }
            if movesBack { return .refused(.effectiveTimeRefused, nil) }
            let limits = network.transferLimits
            let points = request.points
            if points < limits.minimum { return .refused(.transferLimitExceeded, "minimum") }
            if points % limits.step != 0 { return .refused(.transferLimitExceeded, "step") }
            if points > limits.maximumPerTransfer { return .refused(.transferLimitExceeded, "maximum per transfer") }
            let at = request.at
            let sent = (marks[request.from] ?? []).filter(\.sent)
            if let cap = limits.transfersPerDay, sent.filter({ day($0.at) == day(at) }).count >= cap {
                return .refused(.transferLimitExceeded, "transfers per day")
            }
            if let cap = limits.transfersPerMonth, sent.filter({ month($0.at) == month(at) }).count >= cap {
                return .refused(.transferLimitExceeded, "transfers per month")
            }
            let thisYear = sent.filter { year($0.at) == year(at) }
            if let cap = limits.transfersPerYear, thisYear.count >= cap {
                return .refused(.transferLimitExceeded, "transfers per year")
            }
            if let cap = limits.sentPerYear, thisYear.reduce(0, { $0 + $1.points }) + points > cap {
                return .refused(.transferLimitExceeded, "points sent per year")
            }
            let received = (marks[request.to] ?? []).filter { !$0.sent && year($0.at) == year(at) }
            if let cap = limits.receivedPerYear, received.reduce(0, { $0 + $1.points }) + points > cap {
                return .refused(.transferLimitExceeded, "points received per year")
            }
            if available < points + limits.feePoints { return .refused(.insufficientPoints, nil) }
            return .moves
        }

        mutating func moved(_ request: TransferRequest) {
            marks[request.from, default: []].append(Mark(at: request.at, points: request.points, sent: true))
            marks[request.to, default: []].append(Mark(at: request.at, points: request.points, sent: false))
            if let key = request.idempotencyKey { keys[key] = (request.from, request.to, request.points) }
        }
    }

    /// Invariants, audit, reloading, and every point traced to one issuer.
    static func check(_ t: TestLedger, _ step: String) throws {
        let latest = t.store.content.postings.map(\.occurredAt).max()
        #expect(throws: Never.self, "\(step)") { try Invariants.check(t.ledger.state, asOf: latest) }
        let report = try Audit.run(t.ledger)
        #expect(report.problems == [], "\(step)")
        #expect(report.postings == t.ledger.state.lastSeq, "\(step)")
        let reloaded = StateImage(try t.store.load())
        let state = StateImage(t.ledger.state)
        #expect(reloaded == state, "\(step): the store loads back another state")
        if reloaded != state {
            for (number, account) in t.ledger.state.members where reloaded.members[number] != account {
                Issue.record(
                    "\(step): member \(number) reloads as \(String(describing: reloaded.members[number])), held \(account)"
                )
                break
            }
        }
        t.expectLotsTraceToIssuers()
    }

    @Test(
        "after every step the books balance, audit clean, reload equal, and every point has one issuer",
        arguments: cases
    )
    func generated(_ run: Case) throws {
        let network = Self.network(run)
        let limits = network.transferLimits
        var t = try TestLedger(network: network)
        let start = Fixtures.time("2026-01-05T00:00:00Z")
        var generator = OperationGenerator(
            network: network,
            seed: run.seed,
            start: start,
            step: run.days * 86_400 / Int64(run.records)
        )
        var random = SeededGenerator(seed: run.seed ^ 0x7A5F)
        var oracle = TransferOracle(network: network)
        var steps = 0
        var records = 0
        var transferAttempts = 0
        var outcomes: [String: Int] = [:]
        var expiryRuns = 0
        var reviews = 0
        var downgrades = 0
        var keyCounter = 0
        var usedKeys: [(String, TransferRequest)] = []

        while records < run.records || transferAttempts < run.transfers {
            steps += 1
            let roll = Int.random(in: 0..<100, using: &random)
            let kind: StepKind
            if generator.enrolled.count < 10 {
                kind = .records
            } else if steps % 5 == 0 {
                kind = .expiry
            } else if steps % 9 == 0 {
                kind = .review
            } else if transferAttempts >= run.transfers || (records < run.records && roll < 55) {
                kind = .records
            } else {
                kind = .transfers
            }
            switch kind {
            case .records:
                // A batch of partner records.
                let size = Int.random(in: (run.records / 60)...(run.records / 25), using: &random)
                let planned = generator.makeBatch(size, ledger: t.ledger)
                let members = Set(planned.compactMap(\.member))
                let before = Dictionary(uniqueKeysWithValues: members.map { ($0, t.balance($0)) })
                // Outcomes count only live points (dead ones are the breakage's, docs/ledger.md):
                // a member who holds points past their expiry is left out of the check below.
                let latest = planned.map(\.record.occurredAt).max() ?? generator.time
                func holdsDead(_ member: MemberNumber) -> Bool {
                    (t.ledger.member(member)?.expiredPending(at: latest) ?? 0) != 0
                }
                let deadBefore = Set(members.filter(holdsDead))
                let applied = try t.apply(planned.map(\.record))
                var change: [MemberNumber: Int64] = [:]
                for (plan, outcome) in zip(planned, applied) {
                    if case .accepted(let points) = outcome, let member = plan.member {
                        change[member, default: 0] += points
                    }
                    if case .rejected(let code) = plan.expectation, plan.duplicateOf == nil {
                        if case .rejected(let error) = outcome {
                            #expect(error.code == code, "step \(steps): \(plan.record.body)")
                        } else {
                            Issue.record("step \(steps): \(plan.record.body) was accepted, expected \(code)")
                        }
                    }
                }
                // What each outcome says a member gained or lost is what their balance did. Left
                // out, too: a member whose records in the batch are not in time order (a lot
                // alive at one record's time may be dead at another's, applied before it).
                func inOrder(_ member: MemberNumber) -> Bool {
                    let times = planned.filter { $0.member == member }.map(\.record.occurredAt)
                    return times == times.sorted()
                }
                for member in members where !deadBefore.contains(member) && !holdsDead(member) && inOrder(member) {
                    #expect(
                        t.balance(member) - (before[member] ?? 0) == change[member] ?? 0,
                        "step \(steps): member \(member)"
                    )
                }
                generator.observe(planned, applied)
                records += planned.count
            case .transfers:
                // A group of transfers: most aimed to move, some at the limits and the keys.
                let enrolled = generator.enrolled
                for _ in 0..<Int.random(in: (run.transfers / 40)...(run.transfers / 15), using: &random) {
                    transferAttempts += 1
                    var at = generator.time.adding(seconds: Int64.random(in: 0...7_200, using: &random))
                    if random.chance(10) {
                        at = at.adding(seconds: -Int64.random(in: 0...(3 * 86_400), using: &random))
                    }
                    let candidates = (0..<3).map { _ in enrolled[Int.random(in: 0..<enrolled.count, using: &random)] }
                    var from = candidates.max {
                        t.ledger.member($0)!.available(at: at) < t.ledger.member($1)!.available(at: at)
                    }!
                    var to = enrolled[Int.random(in: 0..<enrolled.count, using: &random)]
                    let available = t.ledger.member(from)!.available(at: at)
                    let fee = limits.feePoints
                    let cap = min(limits.maximumPerTransfer, max(limits.minimum, available - fee))
                    var points = Int64.random(in: limits.minimum...max(limits.minimum, cap), using: &random)
                    points = max(points - points % limits.step, limits.minimum)
                    keyCounter += 1
                    var key: String? = random.chance(80) ? "T-\(keyCounter)" : nil
                    switch Int.random(in: 0..<100, using: &random) {
                    case 0..<4: to = from
                    case 4..<8: points += 5  // off the step
                    case 8..<11: points = limits.minimum - limits.step
                    case 11..<14: points = limits.maximumPerTransfer + limits.step
                    case 14..<20: points = (available - fee) - (available - fee) % limits.step + limits.step
                    case 20..<28 where !usedKeys.isEmpty:
                        // A key used before: the same transfer again, or another one under it.
                        let (old, first) = usedKeys[Int.random(in: 0..<usedKeys.count, using: &random)]
                        key = old
                        from = first.from
                        to = first.to
                        points = first.points
                        if random.chance(35) { points += limits.step }
                    default: break
                    }
                    let request = TransferRequest(from: from, to: to, points: points, idempotencyKey: key, at: at)
                    let senderAvailable = t.ledger.member(from)!.available(at: at)
                    func movesBack(_ member: MemberNumber) throws -> Bool {
                        guard let account = t.ledger.member(member) else { return false }
                        let later = try t.store.postings(member: member, in: at.adding(seconds: 1)...Lot.never)
                        return at < account.enrolledAt || !later.isEmpty
                    }
                    let verdict = oracle.verdict(
                        request,
                        available: senderAvailable,
                        movesBack: try movesBack(from) || movesBack(to)
                    )
                    let before = StateImage(t.ledger.state)
                    let beforeButBatch = StateImage(t.ledger.state, includingBatchLog: false)
                    let fromBefore = t.balance(from)
                    let toBefore = t.balance(to)
                    do {
                        let result = try t.ledger.transfer(request)
                        if result.isReplay {
                            #expect(verdict == .replay, "step \(steps): \(request)")
                            #expect(StateImage(t.ledger.state, includingBatchLog: false) == beforeButBatch)
                            outcomes["replay", default: 0] += 1
                        } else {
                            #expect(verdict == .moves, "step \(steps): \(request) moved")
                            #expect(result.fee == fee)
                            #expect(t.balance(from) == fromBefore - points - fee)
                            #expect(t.balance(to) == toBefore + points)
                            oracle.moved(request)
                            if let key { usedKeys.append((key, request)) }
                            outcomes["moved", default: 0] += 1
                        }
                    } catch let error as CoalitionError {
                        if case .refused(let code, let limit) = verdict {
                            #expect(error.code == code, "step \(steps): \(request): \(error)")
                            if let limit {
                                #expect(error.message.hasPrefix(limit + ":"), "step \(steps): \(error)")
                            }
                        } else {
                            Issue.record("step \(steps): \(request) was refused, expected \(verdict): \(error)")
                        }
                        #expect(StateImage(t.ledger.state) == before, "step \(steps): a refusal changed the state")
                        outcomes[error.code.rawValue, default: 0] += 1
                    }
                }
            case .expiry:
                // An expiry run at about now, sometimes twice.
                expiryRuns += 1
                let asOf = generator.time.adding(seconds: -Int64.random(in: 0...86_400, using: &random))
                var due: [PartnerID: Int64] = [:]
                for account in t.ledger.state.members.values {
                    for lot in account.lots where lot.expiresAt <= asOf { due[lot.issuer, default: 0] += lot.points }
                }
                let partners = network.sortedPartners.map(\.id)
                let breakage = Dictionary(uniqueKeysWithValues: partners.map { ($0, t.breakage($0)) })
                let outstanding = Dictionary(uniqueKeysWithValues: partners.map { ($0, t.ledger.outstanding($0)) })
                let total = t.ledger.state.members.values.reduce(0) { $0 + $1.balance }
                let result = try t.ledger.expire(asOf: asOf, now: asOf)
                #expect(result.breakage == due.filter { $0.value != 0 }, "step \(steps)")
                #expect(result.points == due.values.reduce(0, +))
                for partner in partners {
                    #expect(t.breakage(partner) == breakage[partner]! + (due[partner] ?? 0), "step \(steps) \(partner)")
                    #expect(t.ledger.outstanding(partner) == outstanding[partner]! - (due[partner] ?? 0))
                }
                #expect(t.ledger.state.members.values.reduce(0) { $0 + $1.balance } == total - result.points)
                #expect(t.ledger.state.members.values.allSatisfy { $0.lots.allSatisfy { $0.expiresAt > asOf } })
                outcomes["expired lots", default: 0] += result.lots
                if random.chance(30) {
                    let state = StateImage(t.ledger.state)
                    let again = try t.ledger.expire(asOf: asOf, now: asOf)
                    #expect(again.points == 0 && again.lots == 0)
                    #expect(StateImage(t.ledger.state) == state)
                }
            case .review:
                // A tier review.
                reviews += 1
                let asOf = generator.time
                let before = t.ledger.state.members.mapValues(\.tier)
                let changes = try t.ledger.reviewTiers(asOf: asOf, now: asOf)
                for change in changes {
                    #expect(change.reason.hasPrefix("review: "))
                    #expect(try t.store.tierChanges(member: change.member).last == change)
                }
                for (number, account) in t.ledger.state.members where !account.isClosed {
                    let supported = network.tierIndex(
                        forQualifying: account.qualifyingPoints(at: asOf, windowDays: network.tierWindowDays)
                    )
                    let old = before[number] ?? 0
                    if run.policy == .toQualified || supported >= old {
                        #expect(account.tier == supported, "step \(steps): \(number)")
                    } else {
                        #expect(account.tier == old - 1, "step \(steps): \(number)")
                    }
                    if account.tier < old { downgrades += 1 }
                }
                #expect(changes.count == t.ledger.state.members.values.filter { $0.tier != before[$0.number] }.count)
            }
            try Self.check(t, "step \(steps)")
        }

        // The run did what it is meant to.
        let operations = records + transferAttempts + expiryRuns + reviews
        #expect(operations >= (run.records + run.transfers))
        if run.records >= 9_000 { #expect(operations >= 10_000) }
        let postings = t.store.content.postings
        let bonuses = postings.filter { $0.kind == .earn && PostingDetail($0.detail).bonus != nil }.count
        let upgrades = t.store.content.tierChanges.filter { $0.reason.hasPrefix("upgrade") }.count
        #expect(bonuses > run.records / 20, "\(bonuses) earns with a bonus")
        #expect(upgrades > run.records / 50, "\(upgrades) upgrades")
        #expect(downgrades > 0)
        #expect(outcomes["moved", default: 0] > run.transfers / 5, "\(outcomes)")
        #expect(outcomes["replay", default: 0] > 0, "\(outcomes)")
        for code in [ReasonCode.transferLimitExceeded, .insufficientPoints, .sameMember, .idempotencyConflict] {
            #expect(outcomes[code.rawValue, default: 0] > 0, "no transfer was refused with \(code): \(outcomes)")
        }
        #expect(outcomes["expired lots", default: 0] > run.records / 20, "\(outcomes)")
        // Reversals reached earns whose lots had expired, and booked their breakage back.
        let bookedBack = t.store.content.expiredLots.values.filter { $0.reversed > 0 }.count
        #expect(bookedBack > 0)
        #expect(postings.contains { $0.kind == .reverseEarn })
    }
}
