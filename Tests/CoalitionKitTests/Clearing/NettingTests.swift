import CoalitionKit
import CoalitionTestSupport
import Testing

@Suite("Netting: generated networks net to zero and settle exactly")
struct NettingTests {
    static let seeds: [UInt64] = Array(1...24)

    @Test("every property of a clearing holds on a generated network", arguments: seeds)
    func generated(seed: UInt64) throws {
        let g = GeneratedObligations(seed: seed)
        let clearings = try Netting.clear(g.obligations, feeBasisPoints: g.feeBasisPoints)
        let expectedGross = g.pairSums()

        // One clearing per currency that has something owed, in currency order.
        #expect(clearings.map(\.currency) == clearings.map(\.currency).sorted(), "\(g)")
        #expect(Set(clearings.map(\.currency)).isSubset(of: Set(g.currencies)), "\(g)")
        for (currency, rows) in expectedGross where !rows.isEmpty {
            #expect(clearings.contains { $0.currency == currency }, "\(g): no clearing for \(currency)")
        }

        for clearing in clearings {
            let context = "\(g), \(clearing.currency)"
            // The gross matrix is the sums per pair, zeros left out; never empty.
            #expect(!clearing.gross.isEmpty, "\(context)")
            #expect(clearing.gross == (expectedGross[clearing.currency] ?? [:]), "\(context)")

            // Nets before fees, computed here: what each partner is due less what it owes.
            var beforeFees: [PartnerID: Int64] = [:]
            for (debtor, row) in clearing.gross {
                for (creditor, amount) in row {
                    beforeFees[debtor, default: 0] -= amount
                    beforeFees[creditor, default: 0] += amount
                }
            }
            // The fee is floor(bp × positive net / 10,000) per receiver; the clearing house's
            // net is the sum of the fees.
            var expectedFees: [PartnerID: Int64] = [:]
            var expectedNet: [Participant: Int64] = [:]
            for (partner, amount) in beforeFees {
                let fee = amount > 0 ? amount * g.feeBasisPoints / 10_000 : 0
                if fee > 0 { expectedFees[partner] = fee }
                expectedNet[.partner(partner)] = amount - fee
            }
            let feeSum = expectedFees.values.reduce(0, +)
            expectedNet[.clearingHouse] = feeSum
            expectedNet = expectedNet.filter { $0.value != 0 }
            #expect(clearing.fees == expectedFees, "\(context)")
            #expect(clearing.net == expectedNet, "\(context)")
            #expect((clearing.net[.clearingHouse] ?? 0) == feeSum, "\(context)")
            #expect(clearing.net.values.allSatisfy { $0 != 0 }, "\(context)")

            // Net positions sum to zero, the clearing house included.
            #expect(clearing.net.values.reduce(0, +) == 0, "\(context)")

            // Both forms settle exactly the nets, in positive payments of the currency.
            for (form, payments) in [("CCP", clearing.centralCounterparty), ("direct", clearing.fewestPayments)] {
                #expect(balances(after: payments) == clearing.net, "\(context) \(form)")
                #expect(payments.allSatisfy { $0.amount > 0 && $0.payer != $0.payee }, "\(context) \(form)")
                #expect(payments.allSatisfy { $0.currency == clearing.currency }, "\(context) \(form)")
            }
            #expect(
                clearing.centralCounterparty.allSatisfy { $0.payer == .clearingHouse || $0.payee == .clearingHouse },
                "\(context)"
            )

            // The fewest-payments form: at most n − 1 payments for n participants with a net.
            let participants = clearing.net.count
            #expect(clearing.fewestPayments.count <= max(0, participants - 1), "\(context)")

            // Netting never increases what moves; gross is what moves without it, a pair that
            // owes less than nothing moving the other way.
            let grossMoved = expectedGross[clearing.currency, default: [:]].values.reduce(0) { sum, row in
                row.values.reduce(sum) { $0 + abs($1) }
            }
            #expect(clearing.grossTotal == grossMoved, "\(context)")
            #expect(clearing.netTotal == clearing.net.values.reduce(0) { $0 + max(0, -$1) }, "\(context)")
            #expect(clearing.netTotal <= clearing.grossTotal, "\(context)")
            if let efficiency = clearing.nettingEfficiencyBasisPoints {
                #expect((0...10_000).contains(efficiency), "\(context)")
            }
        }
    }

    @Test("netting obligations one by one and netting their totals per pair agree", arguments: seeds)
    func totalsAgree(seed: UInt64) throws {
        let g = GeneratedObligations(seed: seed)
        let fromObligations = try Netting.clear(g.obligations, feeBasisPoints: g.feeBasisPoints)
        let fromTotals = try Netting.clear(totals: g.totals(), feeBasisPoints: g.feeBasisPoints)
        #expect(fromObligations.map(ClearingImage.init) == fromTotals.map(ClearingImage.init), "\(g)")
        // Nor does the order of the obligations matter.
        var random = SeededGenerator(seed: seed)
        let shuffled = try Netting.clear(g.obligations.shuffled(using: &random), feeBasisPoints: g.feeBasisPoints)
        #expect(shuffled.map(ClearingImage.init) == fromObligations.map(ClearingImage.init), "\(g)")
    }

    @Test("the generator makes what the properties need: sizes, currencies, negative amounts")
    func generatorCovers() {
        let all = Self.seeds.map(GeneratedObligations.init)
        #expect(all.allSatisfy { (3...12).contains($0.partners.count) })
        #expect(all.allSatisfy { (1...4).contains($0.currencies.count) })
        #expect(all.allSatisfy { $0.obligations.count >= 1_000 })
        #expect(all.allSatisfy { $0.obligations.contains { $0.amount < 0 } })
        #expect(Set(all.flatMap(\.currencies).map(\.minorUnitExponent)) == [0, 2, 3])
        #expect(Set(all.map(\.currencies.count)) == [1, 2, 3, 4])
        #expect(all.contains { $0.feeBasisPoints == 0 } && all.contains { $0.feeBasisPoints > 0 })
        // Some pair owes less than nothing: the case where gross must still be at least net.
        #expect(
            all.contains { g in g.pairSums().values.contains { $0.values.contains { $0.values.contains { $0 < 0 } } } }
        )
    }

    let a = try! PartnerID("ALPHA")
    let b = try! PartnerID("BRAVO")
    let c = try! PartnerID("CHARLIE")
    let eur = try! Currency(code: "EUR")

    func total(_ debtor: PartnerID, _ creditor: PartnerID, _ amount: Int64) -> ObligationTotal {
        ObligationTotal(debtor: debtor, creditor: creditor, currency: eur, amount: amount, points: amount, count: 1)
    }

    @Test("a ring of equal debts nets to nothing: no payment at all")
    func ring() throws {
        let clearing = try #require(
            try Netting.clear(totals: [total(a, b, 100), total(b, c, 100), total(c, a, 100)], feeBasisPoints: 25).first
        )
        #expect(clearing.grossTotal == 300)
        #expect(clearing.net.isEmpty)
        #expect(clearing.netTotal == 0)
        #expect(clearing.nettingEfficiencyBasisPoints == 10_000)
        #expect(clearing.centralCounterparty.isEmpty && clearing.fewestPayments.isEmpty)
    }

    @Test(
        "fees round down to the minor unit, per receiver",
        arguments: [(399, 0), (400, 1), (79_999, 199), (80_000, 200)]
    )
    func feeRounding(amount: Int64, fee: Int64) throws {
        let clearing = try #require(try Netting.clear(totals: [total(a, b, amount)], feeBasisPoints: 25).first)
        #expect(clearing.fees[b] == (fee == 0 ? nil : fee))
        #expect(clearing.net[.partner(b)] == amount - fee)
        #expect(clearing.net[.clearingHouse] == (fee == 0 ? nil : fee))
        #expect(clearing.net[.partner(a)] == -amount)
    }

    @Test("a pair that owes less than nothing (a reversal of a settled cycle) still moves no more net than gross")
    func negativePair() throws {
        let clearing = try #require(try Netting.clear(totals: [total(a, b, -1_100)], feeBasisPoints: 10).first)
        #expect(clearing.net == [.partner(a): 1_100 - 1, .partner(b): -1_100, .clearingHouse: 1])
        #expect(clearing.netTotal == 1_100)
        #expect(clearing.grossTotal == 1_100)
        #expect(clearing.nettingEfficiencyBasisPoints == 0)
    }

    @Test("a currency whose pairs all sum to zero has nothing to settle and no clearing")
    func zeroCurrency() throws {
        let usd = try Currency(code: "USD")
        let totals = [
            total(a, b, 500), total(a, b, -500),
            ObligationTotal(debtor: b, creditor: c, currency: usd, amount: 70, points: 70, count: 1),
        ]
        let clearings = try Netting.clear(totals: totals, feeBasisPoints: 0)
        #expect(clearings.map(\.currency.code) == ["USD"])
    }
}
