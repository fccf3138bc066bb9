import CoalitionKit

/// A seeded network of obligations for netting: 3 to 12 partners, 1 to 4 currencies with
/// different minor-unit exponents, thousands of obligations, some of them negative
/// (reversals of an earlier obligation, and reversals whose original was settled in an
/// earlier cycle, which can leave a pair owing less than nothing).
struct GeneratedObligations: CustomStringConvertible {
    let seed: UInt64
    let partners: [PartnerID]
    let currencies: [Currency]
    let feeBasisPoints: Int64
    let obligations: [Obligation]

    /// Currencies in an order where any run of up to three has different exponents.
    static let currencyPool = ["JPY", "EUR", "BHD", "ISK", "USD", "KWD"].map { try! Currency(code: $0) }
    static let feeChoices: [Int64] = [0, 1, 10, 25, 100, 250, 9_999, 10_000]

    init(seed: UInt64) {
        self.seed = seed
        var random = SeededGenerator(seed: seed)
        let partnerCount = Int.random(in: 3...12, using: &random)
        partners = (0..<partnerCount).map { try! PartnerID("P\($0 < 10 ? "0" : "")\($0)") }
        let currencyCount = Int.random(in: 1...4, using: &random)
        let first = Int.random(in: 0..<Self.currencyPool.count, using: &random)
        currencies = (0..<currencyCount).map { Self.currencyPool[(first + $0) % Self.currencyPool.count] }
        feeBasisPoints = Self.feeChoices.randomElement(using: &random)!
        let member = try! MemberNumber.withCheckDigit(800_000_000)
        let start = Timestamp(seconds: 1_790_000_000)
        var out: [Obligation] = []
        var positives: [Int] = []
        let count = Int.random(in: 1_000...4_000, using: &random)
        out.reserveCapacity(count)
        for index in 0..<count {
            let id = Int64(index + 1)
            var debtor: PartnerID
            var creditor: PartnerID
            var currency: Currency
            var amount: Int64
            let roll = Int.random(in: 0..<100, using: &random)
            if roll < 15, let pick = positives.suffix(200).randomElement(using: &random) {
                let original = out[pick]
                // A reversal of part or all of an obligation of this cycle.
                debtor = original.debtor
                creditor = original.creditor
                currency = original.currency
                amount = -Int64.random(in: 1...original.amount, using: &random)
            } else {
                debtor = partners.randomElement(using: &random)!
                repeat { creditor = partners.randomElement(using: &random)! } while creditor == debtor
                currency = currencies.randomElement(using: &random)!
                // Mostly small amounts, a few large ones: fees round down at every size.
                let large = random.chance(5)
                amount = Int64.random(in: 1...(large ? 2_000_000_000 : 50_000), using: &random)
                // A reversal of an obligation settled in an earlier cycle.
                if roll < 19 { amount = -amount }
            }
            if amount > 0 { positives.append(out.count) }
            out.append(
                Obligation(
                    id: id,
                    postingSeq: id,
                    batch: id / 50 + 1,
                    debtor: debtor,
                    creditor: creditor,
                    currency: currency,
                    amount: amount,
                    points: amount,
                    occurredAt: start.adding(seconds: id * 60),
                    source: try! RecordKey(partner: creditor, recordID: "G\(id)"),
                    member: member,
                    cycle: nil
                )
            )
        }
        obligations = out
    }

    /// The per-pair totals a store would hand a cycle, in an order of the seed's choosing.
    func totals() -> [ObligationTotal] {
        struct Pair: Hashable {
            let debtor: PartnerID
            let creditor: PartnerID
            let currency: Currency
        }
        var sums: [Pair: (amount: Int64, points: Int64, count: Int)] = [:]
        for o in obligations {
            let pair = Pair(debtor: o.debtor, creditor: o.creditor, currency: o.currency)
            let s = sums[pair] ?? (0, 0, 0)
            sums[pair] = (s.amount + o.amount, s.points + o.points, s.count + 1)
        }
        var random = SeededGenerator(seed: seed ^ 0x5EED)
        return sums.map {
            ObligationTotal(
                debtor: $0.key.debtor,
                creditor: $0.key.creditor,
                currency: $0.key.currency,
                amount: $0.value.amount,
                points: $0.value.points,
                count: $0.value.count
            )
        }.sorted { ($0.currency.code, $0.debtor, $0.creditor) < ($1.currency.code, $1.debtor, $1.creditor) }
            .shuffled(using: &random)
    }

    /// Per currency, what each debtor owes each creditor in sum, computed here without the
    /// library: only pairs whose sum is not zero.
    func pairSums() -> [Currency: [PartnerID: [PartnerID: Int64]]] {
        var out: [Currency: [PartnerID: [PartnerID: Int64]]] = [:]
        for o in obligations {
            out[o.currency, default: [:]][o.debtor, default: [:]][o.creditor, default: 0] += o.amount
        }
        return out.mapValues { rows in
            rows.mapValues { $0.filter { $0.value != 0 } }.filter { !$0.value.isEmpty }
        }
    }

    var description: String {
        "seed \(seed): \(partners.count) partners, \(currencies.map(\.code)), fee \(feeBasisPoints) bp, "
            + "\(obligations.count) obligations (\(obligations.filter { $0.amount < 0 }.count) negative)"
    }
}
