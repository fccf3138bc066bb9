import CoalitionKit

/// Generates realistic partner activity from a seed: members enrolling, earning at every
/// partner, spending across brands, and partners reversing some of it. The same seed gives
/// the same records, so the demo, the benchmark and the tests are reproducible.
package struct ActivityGenerator {
    package struct Plan: Sendable {
        package var members: Int
        package var records: Int
        package var start: Timestamp
        package var days: Int
        package var seed: UInt64
        /// Out of 100 activity records: redemptions and reversals; the rest are earns.
        package var redeemPercent = 25
        package var reversalPercent = 3
        /// Records are sent in files covering this many days; a redemption spends only points
        /// earned in earlier periods, so files of different partners can be applied in any
        /// order within a period. Enrollments fill the first period.
        package var periodDays = 7

        package init(members: Int, records: Int, start: Timestamp, days: Int, seed: UInt64) {
            self.members = members
            self.records = records
            self.start = start
            self.days = days
            self.seed = seed
        }
    }

    /// Member numbers for the `count` demo members: `60012…` with a Luhn check digit.
    package static func memberNumber(_ index: Int) -> MemberNumber {
        try! MemberNumber.withCheckDigit(600_100_000_000 + UInt64(index))
    }

    /// The enrollments, then the activity, each in time order.
    package static func generate(
        network: Network,
        plan: Plan
    ) -> (enrollments: [LedgerRecord], activity: [LedgerRecord]) {
        var random = SeededGenerator(seed: plan.seed)
        var keys = RecordKeys(partners: network.sortedPartners)
        let members = enroll(network: network, plan: plan, &random, &keys)
        let activity = activity(plan: plan, members: members, &random, &keys)
        return (members.enrollments, activity)
    }

    /// Each partner's record ids, numbered in the order they are made.
    private struct RecordKeys {
        let partners: [Partner]
        var counters: [Int]

        init(partners: [Partner]) {
            self.partners = partners
            counters = [Int](repeating: 0, count: partners.count)
        }

        mutating func next(_ p: Int) -> RecordKey {
            counters[p] += 1
            let number = String(counters[p])
            let id =
                String(partners[p].id.rawValue.prefix(7)) + "-"
                + String(repeating: "0", count: max(0, 7 - number.count)) + number
            return RecordKey(stored: partners[p].id, id)
        }
    }

    /// The members and when they joined: all within the first period, activity starts after it.
    private struct Members {
        var enrollments: [LedgerRecord] = []
        var numbers: [MemberNumber] = []
        var joinedAt: [Timestamp] = []
        let enrollWindow: Int64
    }

    private static func enroll(
        network: Network,
        plan: Plan,
        _ random: inout SeededGenerator,
        _ keys: inout RecordKeys
    ) -> Members {
        let partners = keys.partners
        let period = Int64(max(1, plan.periodDays)) * Timestamp.secondsPerDay
        var members = Members(enrollWindow: period)
        members.enrollments.reserveCapacity(plan.members)
        for index in 0..<plan.members {
            let p = Int.random(in: 0..<partners.count, using: &random)
            let at = plan.start.adding(seconds: Int64(index) * period / Int64(max(1, plan.members)))
            let number = memberNumber(index)
            members.numbers.append(number)
            members.joinedAt.append(at)
            // Where the network runs a referral programme, some members give an earlier
            // member's code (no randomness is drawn otherwise: other networks' activity stays
            // as it was).
            var code: ReferralCode?
            if let programme = network.referrals, index > 0, random.chance(30) {
                code = try? programme.code(for: members.numbers[Int.random(in: 0..<index, using: &random)])
            }
            members.enrollments.append(
                LedgerRecord(key: keys.next(p), occurredAt: at, body: .enroll(member: number, referralCode: code))
            )
        }
        return members
    }

    /// A record the generator may reverse later.
    private struct Reversible {
        let partner: Int
        let key: RecordKey
        let units: Int64
        let member: Int
        let isEarn: Bool
    }

    private static func activity(
        plan: Plan,
        members: Members,
        _ random: inout SeededGenerator,
        _ keys: inout RecordKeys
    ) -> [LedgerRecord] {
        let partners = keys.partners
        let period = Int64(max(1, plan.periodDays)) * Timestamp.secondsPerDay
        let enrollWindow = members.enrollWindow
        let numbers = members.numbers
        var balances = [Int64](repeating: 0, count: plan.members)
        var spendable = [Int64](repeating: 0, count: plan.members)
        var periodIndex: Int64 = 1
        var reversible: [Reversible] = []
        var activity: [LedgerRecord] = []
        activity.reserveCapacity(plan.records)
        let span = Int64(plan.days) * Timestamp.secondsPerDay - enrollWindow
        for index in 0..<plan.records {
            let time = plan.start.adding(seconds: enrollWindow + Int64(index) * span / Int64(max(1, plan.records)))
            let currentPeriod = (time.seconds - plan.start.seconds) / period
            if currentPeriod != periodIndex {
                periodIndex = currentPeriod
                for m in 0..<plan.members { spendable[m] = max(0, balances[m]) }
            }
            let p = Int.random(in: 0..<partners.count, using: &random)
            let partner = partners[p]
            let rate = partner.earnRates.value(at: time) ?? partner.earnRates.entries[0].value
            let roll = Int.random(in: 0..<100, using: &random)
            let m = Int.random(in: 0..<plan.members, using: &random)
            guard members.joinedAt[m] <= time else { continue }
            if roll < plan.reversalPercent, !reversible.isEmpty {
                let pick = Int.random(in: 0..<reversible.count, using: &random)
                let original = reversible.swapRemoveAt(pick)
                let partial = random.chance(40) && original.units > 1
                let units = partial ? Int64.random(in: 1..<original.units, using: &random) : original.units
                let key = keys.next(original.partner)
                activity.append(
                    LedgerRecord(
                        key: key,
                        occurredAt: time,
                        body: .reverse(original: original.key.recordID, units: partial ? units : nil)
                    )
                )
                let r = partners[original.partner].earnRates.value(at: time) ?? rate
                let points = (try? r.apply(to: units, rounding: .down).value) ?? 0
                balances[original.member] += original.isEarn ? -points : points
                spendable[original.member] = min(spendable[original.member], balances[original.member])
            } else if roll < plan.reversalPercent + plan.redeemPercent, min(balances[m], spendable[m]) >= 100 {
                // Spend up to 60% of what was earned in earlier periods, at this partner.
                let points = Int64.random(in: 1...(min(balances[m], spendable[m]) * 6 / 10), using: &random)
                let units = max(1, (try? Rate.unitsFor(points: points, rate: rate, rounding: .down)) ?? 1)
                let key = keys.next(p)
                activity.append(
                    LedgerRecord(key: key, occurredAt: time, body: .redeem(member: numbers[m], units: units))
                )
                let spent = (try? rate.apply(to: units, rounding: .up).value) ?? points
                balances[m] -= spent
                spendable[m] -= spent
                if random.chance(10) {
                    reversible.append(Reversible(partner: p, key: key, units: units, member: m, isEarn: false))
                }
            } else {
                let units = earnUnits(partner.kind, &random)
                let key = keys.next(p)
                activity.append(LedgerRecord(key: key, occurredAt: time, body: .earn(member: numbers[m], units: units)))
                balances[m] += (try? rate.apply(to: units, rounding: .down).value) ?? 0
                if random.chance(10) {
                    reversible.append(Reversible(partner: p, key: key, units: units, member: m, isEarn: true))
                }
            }
            if reversible.count > 10_000 { reversible.removeFirst(5_000) }
        }
        return activity
    }

    /// A plausible earn in the partner's unit: flight miles, hotel points, cents spent.
    static func earnUnits(_ kind: PartnerKind, _ random: inout SeededGenerator) -> Int64 {
        switch kind {
        case .airline: Int64.random(in: 250...6_000, using: &random)
        case .hotel: Int64.random(in: 1_000...30_000, using: &random)
        case .carRental: Int64.random(in: 3_000...60_000, using: &random)
        case .retail, .dining: Int64.random(in: 500...25_000, using: &random)
        case .bank, .travel: Int64.random(in: 1_000...100_000, using: &random)
        }
    }
}

extension Array {
    /// Removes the element at `index` in O(1) by moving the last one into its place.
    mutating func swapRemoveAt(_ index: Int) -> Element {
        swapAt(index, count - 1)
        return removeLast()
    }
}
