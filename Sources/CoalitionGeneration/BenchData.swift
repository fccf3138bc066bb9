import CoalitionKit

/// Deterministic data for `coalition bench`: a network of `partners` partners with keys, and a
/// stream of one partner's records (earns, cross-brand redemptions, reversals) that is never
/// held whole in memory.
package enum BenchData {
    /// A network of `count` partners (`P01`, `P02`, …) alternating USD and EUR, with simple
    /// rates, and a 32-byte key each derived from the seed (bench keys guard nothing).
    package static func network(partners count: Int, seed: UInt64) throws -> (Network, [PartnerID: KeyRing]) {
        var random = SeededGenerator(seed: seed)
        let from = try Timestamp(parsing: "2025-01-01T00:00:00Z")
        var partners: [Partner] = []
        var rings: [PartnerID: KeyRing] = [:]
        let kinds: [PartnerKind] = [.airline, .hotel, .carRental, .retail, .dining]
        for index in 0..<count {
            let number = String(index + 1)
            let id = try PartnerID("P" + String(repeating: "0", count: max(0, 2 - number.count)) + number)
            let key = KeyInfo(id: "\(id)-K1", validFrom: from, validUntil: nil, file: "\(id)-K1.key", isDemo: true)
            partners.append(
                Partner(
                    id: id,
                    name: "Bench partner \(number)",
                    kind: kinds[index % kinds.count],
                    unit: PartnerUnit(code: "UNIT", name: "units"),
                    earnRates: EffectiveSchedule([.init(from: from, value: try Rate(1, Int64(1 + index % 3)))]),
                    settlementCurrency: try Currency(code: index % 2 == 0 ? "USD" : "EUR"),
                    redemptionValues: EffectiveSchedule([.init(from: from, value: try Rate(parsing: "0.01"))]),
                    keys: [key]
                )
            )
            let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
            rings[id] = KeyRing(partner: id, keys: [KeyRing.Key(info: key, secret: secret)])
        }
        let network = Network(
            name: "Bench network",
            pointsLifetimeDays: 1095,
            utcOffsetMinutes: 0,
            tiers: [Tier(name: "Base", qualifyingPoints: 0, bonusPercent: 0)],
            tierWindowDays: 365,
            downgradePolicy: .oneTier,
            transferLimits: TransferLimits(
                minimum: 1,
                step: 1,
                maximumPerTransfer: 1_000_000,
                sentPerYear: nil,
                receivedPerYear: nil,
                transfersPerDay: nil,
                transfersPerMonth: nil,
                transfersPerYear: nil,
                feePoints: 0
            ),
            clearing: ClearingSettings(
                feeBasisPoints: 10,
                acceptedPastSeconds: 3650 * 86_400,
                acceptedFutureSeconds: 900
            ),
            partners: partners
        )
        return (network, rings)
    }

    /// The member numbers of the bench: `70…` with a Luhn digit.
    package static func member(_ index: Int) -> MemberNumber {
        try! MemberNumber.withCheckDigit(700_000_000_000 + UInt64(index))
    }

    /// Every member enrolled with `P01`, then one earn of 6,000 units at every partner: the
    /// lots a measured file's redemptions spend across brands. Handed to `body` in batches of
    /// at most `batchSize` records, made as they are needed.
    package static func setup(
        network: Network,
        members: Int,
        start: Timestamp,
        batchSize: Int,
        _ body: ([LedgerRecord]) throws -> Void
    ) rethrows {
        let partners = network.sortedPartners
        var batch: [LedgerRecord] = []
        batch.reserveCapacity(batchSize)
        func add(_ record: LedgerRecord) throws {
            batch.append(record)
            if batch.count == batchSize {
                try body(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        for m in 0..<members {
            try add(
                LedgerRecord(
                    key: RecordKey(stored: partners[0].id, "E\(m)"),
                    occurredAt: start,
                    body: .enroll(member: member(m))
                )
            )
        }
        // The measured partner's own lot last: its redemptions spend other issuers' first.
        for (p, partner) in partners.reversed().enumerated() {
            for m in 0..<members {
                try add(
                    LedgerRecord(
                        key: RecordKey(stored: partner.id, "W\(m)"),
                        occurredAt: start.adding(seconds: Int64(p + 1)),
                        body: .earn(member: member(m), units: 6_000)
                    )
                )
            }
        }
        if !batch.isEmpty { try body(batch) }
    }

    /// `count` records of `partner`: about 70% earns, 25% redemptions of points earned at
    /// every partner, 5% reversals of the file's own earlier records.
    package struct Records: Sequence, IteratorProtocol {
        let partner: PartnerID
        let members: Int
        let count: Int
        let start: Timestamp
        var random: SeededGenerator
        var index = 0
        var reversible: [(String, Int64)] = []

        package init(partner: PartnerID, members: Int, count: Int, start: Timestamp, seed: UInt64) {
            self.partner = partner
            self.members = members
            self.count = count
            self.start = start
            random = SeededGenerator(seed: seed)
        }

        /// The time of record `index` (from 1) of a file that starts at `start`: sixteen
        /// records a second.
        package static func time(of index: Int, start: Timestamp) -> Timestamp {
            start.adding(seconds: Int64(index / 16))
        }

        package mutating func next() -> LedgerRecord? {
            guard index < count else { return nil }
            index += 1
            let id = "R\(index)"
            let time = Records.time(of: index, start: start)
            let m = BenchData.member(Int.random(in: 0..<members, using: &random))
            let roll = Int.random(in: 0..<100, using: &random)
            let body: LedgerRecord.Body
            if roll < 5, !reversible.isEmpty {
                let pick = Int.random(in: 0..<reversible.count, using: &random)
                let (original, units) = reversible[pick]
                reversible[pick] = reversible[reversible.count - 1]
                reversible.removeLast()
                body = .reverse(original: original, units: random.chance(50) ? Swift.max(1, units / 2) : nil)
            } else if roll < 30 {
                // Small enough that a member's warm-up points (6,000 units at each partner)
                // cover many of them.
                body = .redeem(member: m, units: Int64.random(in: 10...400, using: &random))
            } else {
                body = .earn(member: m, units: Int64.random(in: 100...5_000, using: &random))
            }
            if case .reverse = body {
            } else if random.chance(8) {
                if case .earn(_, let units) = body { reversible.append((id, units)) }
                if case .redeem(_, let units) = body { reversible.append((id, units)) }
                if reversible.count > 4096 { reversible.removeFirst(1024) }
            }
            return LedgerRecord(key: RecordKey(stored: partner, id), occurredAt: time, body: body)
        }
    }
}
