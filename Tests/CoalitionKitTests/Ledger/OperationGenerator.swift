import CoalitionKit

/// Generates batches of mixed ledger records from a seed: enrollments, earns, redemptions
/// and reversals, most of them valid and some deliberately not, each with what must become
/// of it where that is certain.
struct OperationGenerator {
    enum Expectation: Equatable {
        case accepted
        case rejected(ReasonCode)
        /// Depends on what the batch does before it (a redemption the balance may not cover).
        case either
    }

    struct Planned {
        let record: LedgerRecord
        let expectation: Expectation
        /// The index in the batch of an earlier record with the same key.
        let duplicateOf: Int?
        /// The member whose balance the record changes.
        let member: MemberNumber?
    }

    enum Kind {
        case enroll, earn, redeem, reversal
    }

    struct Applied {
        let key: RecordKey
        let kind: Kind
        let units: Int64
        let member: MemberNumber
    }

    private(set) var random: SeededGenerator
    let partners: [Partner]
    private(set) var time: Timestamp
    /// Mean seconds between records.
    let step: Int64
    private(set) var enrolled: [MemberNumber] = []
    private var enrolledSet: Set<MemberNumber> = []
    private var memberCount = 0
    private var unknownCount = 0
    private(set) var applied: [Applied] = []
    private(set) var appliedByKey: [RecordKey: Applied] = [:]
    private var reversible: [Int] = []
    private var counters: [PartnerID: Int] = [:]
    private let ghost = try! PartnerID("GHOST")
    private let tooEarly = try! Timestamp(parsing: "2024-06-01T00:00:00Z")

    init(network: Network, seed: UInt64, start: Timestamp, step: Int64) {
        random = SeededGenerator(seed: seed)
        partners = network.sortedPartners
        time = start
        self.step = step
    }

    mutating func nextKey(_ partner: PartnerID) -> RecordKey {
        counters[partner, default: 0] += 1
        return try! RecordKey(partner: partner, recordID: "\(partner.rawValue.prefix(3))-\(counters[partner]!)")
    }

    private mutating func pick<T>(_ from: [T]) -> T { from[Int.random(in: 0..<from.count, using: &random)] }

    private mutating func partner() -> Partner { pick(partners) }

    private mutating func units() -> Int64 {
        switch Int.random(in: 0..<10, using: &random) {
        case 0, 1: Int64.random(in: 1...100, using: &random)
        case 2: Int64.random(in: 50_000...2_000_000, using: &random)
        default: Int64.random(in: 100...50_000, using: &random)
        }
    }

    private mutating func newMember() -> MemberNumber {
        memberCount += 1
        return try! MemberNumber.withCheckDigit(700_000_000 + UInt64(memberCount))
    }

    private mutating func unknownMember() -> MemberNumber {
        unknownCount += 1
        return try! MemberNumber.withCheckDigit(800_000_000 + UInt64(unknownCount))
    }

    /// The next batch of `size` records; `ledger` is read to aim redemptions at balances.
    mutating func makeBatch(_ size: Int, ledger: Ledger) -> [Planned] {
        var batch: [Planned] = []
        var joining: [MemberNumber] = []
        for _ in 0..<size {
            time = time.adding(seconds: Int64.random(in: 0...(2 * step), using: &random))
            var at = time
            if random.chance(5) { at = at.adding(seconds: -Int64.random(in: 0...(20 * 86_400), using: &random)) }
            let roll = Int.random(in: 0..<100, using: &random)
            let p = partner()
            let key = nextKey(p.id)
            func plan(_ body: LedgerRecord.Body, _ expectation: Expectation, _ member: MemberNumber?) -> Planned {
                Planned(
                    record: LedgerRecord(key: key, occurredAt: at, body: body),
                    expectation: expectation,
                    duplicateOf: nil,
                    member: member
                )
            }
            if roll < 8 || (enrolled.isEmpty && joining.isEmpty) {
                let number = newMember()
                joining.append(number)
                batch.append(plan(.enroll(member: number), .accepted, number))
            } else if roll < 9 && !enrolled.isEmpty {
                let number = pick(enrolled)
                batch.append(plan(.enroll(member: number), .rejected(.memberExists), number))
            } else if roll < 50 {
                let number = pick(enrolled + joining)
                batch.append(plan(.earn(member: number, units: units()), .accepted, number))
            } else if roll < 52 {
                let number = unknownMember()
                batch.append(plan(.earn(member: number, units: units()), .rejected(.unknownMember), number))
            } else if roll < 54 && !enrolled.isEmpty {
                let number = pick(enrolled)
                let amount = pick([0, -1, -500, maximumRecordAmount + 1])
                let body: LedgerRecord.Body =
                    random.chance(50) ? .earn(member: number, units: amount) : .redeem(member: number, units: amount)
                batch.append(plan(body, .rejected(.badAmount), number))
            } else if roll < 55 && !enrolled.isEmpty {
                let number = pick(enrolled)
                batch.append(
                    Planned(
                        record: LedgerRecord(key: key, occurredAt: tooEarly, body: .earn(member: number, units: 100)),
                        expectation: .rejected(.rateNotInForce),
                        duplicateOf: nil,
                        member: number
                    )
                )
            } else if roll < 78 && !enrolled.isEmpty {
                let number = pick(enrolled)
                let available = ledger.member(number)?.available(at: at) ?? 0
                let rate = (try? p.earnRate(at: at)) ?? (try! Rate(1))
                var redeemUnits = units()
                if available > 0 {
                    let points = random.chance(20) ? available : Int64.random(in: 1...available, using: &random)
                    redeemUnits = max(1, (try? Rate.unitsFor(points: points, rate: rate, rounding: .down)) ?? 1)
                }
                batch.append(plan(.redeem(member: number, units: redeemUnits), .either, number))
            } else if roll < 80 && !enrolled.isEmpty {
                let number = pick(enrolled)
                batch.append(
                    plan(.redeem(member: number, units: maximumRecordAmount), .rejected(.insufficientPoints), number)
                )
            } else if roll < 91 && !reversible.isEmpty {
                let original = applied[pick(reversible)]
                let amount: Int64? =
                    switch Int.random(in: 0..<5, using: &random) {
                    case 0, 1: nil
                    case 2: Int64.random(in: 1...max(1, original.units / 5), using: &random)
                    default: Int64.random(in: 1...original.units, using: &random)
                    }
                batch.append(
                    Planned(
                        record: LedgerRecord(
                            key: nextKey(original.key.partner),
                            occurredAt: at,
                            body: .reverse(original: original.key.recordID, units: amount)
                        ),
                        expectation: .either,
                        duplicateOf: nil,
                        member: original.member
                    )
                )
            } else if roll < 92, let original = applied.last(where: { $0.kind == .enroll || $0.kind == .reversal }) {
                batch.append(
                    Planned(
                        record: LedgerRecord(
                            key: nextKey(original.key.partner),
                            occurredAt: at,
                            body: .reverse(original: original.key.recordID, units: nil)
                        ),
                        expectation: .rejected(.notReversible),
                        duplicateOf: nil,
                        member: original.member
                    )
                )
            } else if roll < 93 {
                batch.append(
                    plan(.reverse(original: "NOPE-\(key.recordID)", units: nil), .rejected(.unknownOriginal), nil)
                )
            } else if roll < 96 && !applied.isEmpty && !enrolled.isEmpty {
                let original = pick(applied)
                let number = pick(enrolled)
                batch.append(
                    Planned(
                        record: LedgerRecord(key: original.key, occurredAt: at, body: .earn(member: number, units: 10)),
                        expectation: .rejected(.duplicateRecord),
                        duplicateOf: nil,
                        member: number
                    )
                )
            } else if roll < 98 && !batch.isEmpty && !enrolled.isEmpty {
                let index = Int.random(in: 0..<batch.count, using: &random)
                let number = pick(enrolled)
                batch.append(
                    Planned(
                        record: LedgerRecord(
                            key: batch[index].record.key,
                            occurredAt: at,
                            body: .earn(member: number, units: 10)
                        ),
                        expectation: .either,
                        duplicateOf: index,
                        member: number
                    )
                )
            } else {
                let number = enrolled.isEmpty ? unknownMember() : pick(enrolled)
                batch.append(
                    Planned(
                        record: LedgerRecord(
                            key: try! RecordKey(partner: ghost, recordID: key.recordID),
                            occurredAt: at,
                            body: .earn(member: number, units: 10)
                        ),
                        expectation: .rejected(.unknownPartner),
                        duplicateOf: nil,
                        member: number
                    )
                )
            }
        }
        return batch
    }

    /// Learns what was applied, for later reversals and duplicates.
    mutating func observe(_ batch: [Planned], _ outcomes: [RecordOutcome]) {
        for (planned, outcome) in zip(batch, outcomes) where outcome.isAccepted {
            let record = planned.record
            let kind: Kind
            var units: Int64 = 0
            switch record.body {
            case .enroll(let number, _):
                kind = .enroll
                enrolled.append(number)
                enrolledSet.insert(number)
            case .earn(_, let amount):
                kind = .earn
                units = amount
            case .redeem(_, let amount):
                kind = .redeem
                units = amount
            case .reverse:
                kind = .reversal
            }
            let entry = Applied(key: record.key, kind: kind, units: units, member: planned.member!)
            applied.append(entry)
            appliedByKey[record.key] = entry
            if kind == .earn || kind == .redeem { reversible.append(applied.count - 1) }
        }
        if reversible.count > 3_000 { reversible.removeFirst(1_000) }
    }
}
