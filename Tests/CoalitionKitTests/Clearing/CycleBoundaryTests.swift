import CoalitionKit
import CoalitionTestSupport
import Testing

@Suite("Cycles: which obligations a cut-off takes, and that a closed cycle never changes")
struct CycleBoundaryTests {
    let skyways = Fixtures.skyways
    let harbor = Fixtures.harbor
    let roadrunner = Fixtures.roadrunner
    let alice = Fixtures.member(1)
    let cutoff = "2026-03-31T23:59:59Z"

    /// Alice earns 50,000 points at Skyways, then redeems 1,000 of them at Harbor exactly at
    /// the cut-off (SKYWAYS owes HARBOR 11.00 EUR) and 1,000 at Roadrunner a second after it
    /// (SKYWAYS owes ROADRUNNER 10.00 USD).
    func activity(_ t: inout TestLedger, _ r: inout RecordMaker) throws -> (atCutoff: LedgerRecord, after: LedgerRecord)
    {
        try t.accept(r.enroll(alice, at: skyways, "2026-03-01T00:00:00Z"))
        try t.accept(r.earn(alice, 100_000, at: skyways, "2026-03-01T10:00:00Z"))
        let atCutoff = r.redeem(alice, 3_000, at: harbor, cutoff)
        let after = r.redeem(alice, 50_000, at: roadrunner, "2026-04-01T00:00:00Z")
        try t.accept(atCutoff)
        try t.accept(after)
        return (atCutoff, after)
    }

    func close(_ t: TestLedger, through: String, now: String = "2026-04-02T09:00:00Z") throws -> CycleCloser.Result {
        try CycleCloser.close(t.ledger, through: Fixtures.time(through), now: Fixtures.time(now))
    }

    @Test("an obligation dated at the cut-off joins the cycle; one a second later waits for the next")
    func cutoffIsInclusive() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        let (atCutoff, after) = try activity(&t, &r)
        let cycle = try #require(try close(t, through: cutoff).closedCycle)
        #expect(cycle.number == 1)
        #expect(cycle.through == Fixtures.time(cutoff))
        #expect(cycle.closedAt == Fixtures.time("2026-04-02T09:00:00Z"))
        #expect(cycle.obligationCount == 1)
        #expect(cycle.watermark == 2)
        #expect(try t.store.obligations(cycle: 1).map(\.source) == [atCutoff.key])
        #expect(try t.store.obligations(openOnly: true).map(\.source) == [after.key])
        // Only EUR moved: Skyways pays Harbor 11.00 EUR, less a 10 bp fee on what Harbor receives.
        #expect(cycle.clearings.map(\.currency.code) == ["EUR"])
        let eur = try #require(cycle.clearings.first)
        #expect(eur.gross == [skyways: [harbor: 1_100]])
        #expect(eur.net == [.partner(skyways): -1_100, .partner(harbor): 1_099, .clearingHouse: 1])
        #expect(eur.fees == [harbor: 1])
        #expect(
            eur.fewestPayments == [
                SettlementInstruction(
                    currency: eur.currency,
                    payer: .partner(skyways),
                    payee: .partner(harbor),
                    amount: 1_099
                ),
                SettlementInstruction(
                    currency: eur.currency,
                    payer: .partner(skyways),
                    payee: .clearingHouse,
                    amount: 1
                ),
            ]
        )
        try expectBooksAfterClose(t.ledger)
        // The settlement accounts hold the nets.
        #expect(t.ledger.balance(of: AccountKey(Account.settlement(.partner(harbor)), "EUR")) == 1_099)
        #expect(t.ledger.balance(of: AccountKey(Account.settlement(.partner(skyways)), "EUR")) == -1_100)
        #expect(t.ledger.balance(of: AccountKey(Account.settlement(.clearingHouse), "EUR")) == 1)

        // The next cycle takes the one that waited.
        let next = try #require(try close(t, through: "2026-04-30T23:59:59Z").closedCycle)
        #expect(next.number == 2)
        #expect(next.obligationCount == 1)
        #expect(try t.store.obligations(cycle: 2).map(\.source) == [after.key])
        #expect(try t.store.obligations(openOnly: true).isEmpty)
        #expect(next.clearings.map(\.currency.code) == ["USD"])
        #expect(next.clearings.first?.gross == [skyways: [roadrunner: 1_000]])
        try expectBooksAfterClose(t.ledger)
        #expect(receivablesAndPayables(t.ledger).isEmpty)
    }

    @Test(
        "closing the same cut-off again, or an earlier one, is alreadyClosed and changes nothing",
        arguments: ["2026-03-31T23:59:59Z", "2026-03-31T23:59:58Z", "2026-01-01T00:00:00Z"]
    )
    func closeAgain(through: String) throws {
        var t = try TestLedger()
        var r = RecordMaker()
        _ = try activity(&t, &r)
        let first = try #require(try close(t, through: cutoff).closedCycle)
        let state = StateImage(t.ledger.state)
        let content = t.store.content
        let commits = t.store.commits
        let again = try close(t, through: through, now: "2026-04-03T00:00:00Z")
        let last = try #require(again.alreadyClosedCycle)
        #expect(CycleImage(last) == CycleImage(first))
        #expect(StateImage(t.ledger.state) == state)
        #expect(t.store.content == content)
        #expect(t.store.commits == commits)
        #expect(try t.store.cycles().map(CycleImage.init) == [CycleImage(first)])
    }

    @Test("an obligation recorded after a cycle closed but dated before its cut-off goes to the next cycle")
    func lateObligation() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        let (atCutoff, after) = try activity(&t, &r)
        let first = try #require(try close(t, through: cutoff).closedCycle)
        let before = try t.store.obligations(cycle: 1)
        // Harbor reports a redemption of 30 March only now.
        let late = r.redeem(alice, 1_500, at: harbor, "2026-03-30T12:00:00Z")
        try t.accept(late)
        #expect(try t.store.obligations(cycle: 1) == before)
        #expect(try t.store.obligations(openOnly: true).map(\.source) == [after.key, late.key])
        #expect(try t.store.cycles().map(CycleImage.init) == [CycleImage(first)])
        try expectBooksAfterClose(t.ledger)

        let second = try #require(try close(t, through: "2026-04-30T23:59:59Z").closedCycle)
        #expect(try t.store.obligations(cycle: 2).map(\.source) == [after.key, late.key])
        #expect(try t.store.obligations(cycle: 1).map(\.source) == [atCutoff.key])
        #expect(second.obligationCount == 2)
        #expect(second.clearings.first { $0.currency.code == "EUR" }?.gross == [skyways: [harbor: 550]])
        #expect(try t.store.cycles().first.map(CycleImage.init) == CycleImage(first))
        try expectBooksAfterClose(t.ledger)
    }

    @Test("a reversal in a later cycle of a redemption in a closed cycle is a negative obligation of the later one")
    func reversalAcrossCycles() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        let (atCutoff, _) = try activity(&t, &r)
        let first = try #require(try close(t, through: cutoff).closedCycle)
        let firstObligations = try t.store.obligations(cycle: 1)
        // Harbor cancels the night redeemed at the cut-off, and a smaller one is redeemed.
        let reversal = r.reverse(atCutoff, nil, "2026-04-05T08:00:00Z")
        try t.accept(reversal)
        try t.accept(r.redeem(alice, 1_500, at: harbor, "2026-04-06T08:00:00Z"))
        let negative = try #require(try t.store.obligations(openOnly: true).first { $0.source == reversal.key })
        #expect(negative.amount == -1_100)
        #expect(negative.debtor == skyways && negative.creditor == harbor)
        // The closed cycle's figures do not move.
        #expect(try t.store.cycles().map(CycleImage.init) == [CycleImage(first)])
        #expect(try t.store.obligations(cycle: 1) == firstObligations)
        try expectBooksAfterClose(t.ledger)

        let second = try #require(try close(t, through: "2026-04-30T23:59:59Z").closedCycle)
        #expect(try t.store.cycles().first.map(CycleImage.init) == CycleImage(first))
        #expect(try t.store.obligations(cycle: 2).contains { $0.source == reversal.key })
        let eur = try #require(second.clearings.first { $0.currency.code == "EUR" })
        // 5.50 EUR redeemed, 11.00 EUR given back: Harbor owes Skyways 5.50 EUR net.
        #expect(eur.gross == [skyways: [harbor: 550 - 1_100]])
        #expect(eur.net[.partner(harbor)] == -550)
        #expect(eur.net.values.reduce(0, +) == 0)
        #expect(eur.netTotal == 550)
        #expect(eur.netTotal <= eur.grossTotal)
        try expectBooksAfterClose(t.ledger)
        #expect(receivablesAndPayables(t.ledger).isEmpty)
    }

    @Test("cycles over generated activity: every obligation in exactly one cycle, books clean after each close")
    func generatedCycles() throws {
        var a = try ActivityLedger(seed: 41)
        let cutoffs = ["2026-09-20T00:00:00Z", "2026-10-01T12:00:00Z", "2026-10-20T23:59:59Z", "2026-11-05T00:00:00Z"]
        var closed: [CycleImage] = []
        for (index, cutoff) in cutoffs.enumerated() {
            // Activity up to a day past the cut-off is known when it closes.
            try a.apply(through: Fixtures.time(cutoff).adding(days: 1))
            let watermark = a.ledger.state.lastObligationID
            let open = try a.store.obligations(openOnly: true)
            let cycle = try a.close(through: cutoff, now: "2026-11-20T00:00:00Z")
            #expect(cycle.number == Int64(index + 1))
            #expect(cycle.watermark == watermark)
            let taken = open.filter { $0.occurredAt <= Fixtures.time(cutoff) }
            #expect(try a.store.obligations(cycle: cycle.number).map(\.id) == taken.map(\.id))
            #expect(cycle.obligationCount == taken.count)
            #expect(taken.count > 0, "cycle \(cycle.number) takes nothing: a weak case")
            #expect(
                try Netting.clear(taken, feeBasisPoints: 10).map(ClearingImage.init)
                    == cycle.clearings.map(ClearingImage.init)
            )
            for clearing in cycle.clearings {
                #expect(clearing.net.values.reduce(0, +) == 0)
                #expect(clearing.netTotal <= clearing.grossTotal)
            }
            try expectBooksAfterClose(a.ledger)
            closed.append(CycleImage(cycle))
            // Earlier cycles never change.
            #expect(try a.store.cycles().map(CycleImage.init) == closed)
        }
        try a.apply(through: Fixtures.time("2027-01-01T00:00:00Z"))
        let all = try a.store.obligations(openOnly: false)
        #expect(all.count > 300)
        #expect(all.contains { $0.amount < 0 })
        for o in all {
            let covering = closed.filter { $0.watermark >= o.id && $0.through >= o.occurredAt }.map(\.number)
            #expect(o.cycle == covering.first)
        }
        #expect(try a.store.cycles().map(CycleImage.init) == closed)
    }
}
