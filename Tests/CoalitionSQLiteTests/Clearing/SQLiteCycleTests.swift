import CoalitionKit
import CoalitionSQLite
import CoalitionTestSupport
import Foundation
import Testing

@Suite("SQLiteStore: clearing cycles persist, reload, and take obligations by watermark and cut-off")
struct SQLiteCycleTests {
    let skyways = try! PartnerID("SKYWAYS")
    let harbor = try! PartnerID("HARBOR")
    let roadrunner = try! PartnerID("ROADRUNNER")
    let marketplace = try! PartnerID("MARKETPLACE")
    let alice = try! MemberNumber.withCheckDigit(910_000_001)
    let cutoff = "2026-03-31T23:59:59Z"

    /// Alice earns at Skyways, redeems at Harbor exactly at the cut-off (SKYWAYS owes HARBOR
    /// 11.00 EUR) and at Roadrunner a second after it (SKYWAYS owes ROADRUNNER 10.00 USD).
    func activity(_ l: inout CycleLedger, _ r: inout Records) throws -> (atCutoff: LedgerRecord, after: LedgerRecord) {
        try l.accept(r.make(skyways, "2026-03-01T00:00:00Z", .enroll(member: alice)))
        try l.accept(r.make(skyways, "2026-03-01T10:00:00Z", .earn(member: alice, units: 100_000)))
        let atCutoff = r.make(harbor, cutoff, .redeem(member: alice, units: 3_000))
        let after = r.make(roadrunner, "2026-04-01T00:00:00Z", .redeem(member: alice, units: 50_000))
        try l.accept(atCutoff)
        try l.accept(after)
        return (atCutoff, after)
    }

    @Test("the cut-off is inclusive; a second after it waits; the cycle survives reopening the store")
    func cutoffAndReload() throws {
        var l = try CycleLedger()
        defer { l.remove() }
        var r = Records()
        let (atCutoff, after) = try activity(&l, &r)
        let cycle = try #require(try l.close(cutoff).closedCycle)
        #expect(cycle.number == 1 && cycle.obligationCount == 1 && cycle.watermark == 2)
        #expect(try l.store.obligations(cycle: 1).map(\.source) == [atCutoff.key])
        #expect(try l.store.obligations(openOnly: true).map(\.source) == [after.key])
        #expect(try l.store.obligations(openOnly: false).map(\.cycle) == [1, nil])
        let eur = try #require(cycle.clearings.first)
        #expect(cycle.clearings.count == 1 && eur.currency.code == "EUR")
        #expect(eur.gross == [skyways: [harbor: 1_100]])
        #expect(eur.net == [.partner(skyways): -1_100, .partner(harbor): 1_099, .clearingHouse: 1])
        // The batch of Harbor's that made the obligation, with both partners it involves.
        #expect(cycle.batches == [BatchReference(partner: harbor, sequence: 1, counterparties: [skyways, harbor])])
        try l.expectBooks()
        // What the store reads back is what the close made, before and after reopening.
        #expect(try l.store.cycles().map(CycleImage.init) == [CycleImage(cycle)])
        try l.reopen()
        #expect(try l.store.cycles().map(CycleImage.init) == [CycleImage(cycle)])
        #expect(try l.store.obligations(openOnly: true).map(\.source) == [after.key])
        try l.expectBooks()

        let next = try #require(try l.close("2026-04-30T23:59:59Z", now: "2026-05-01T00:00:00Z").closedCycle)
        #expect(next.number == 2)
        #expect(try l.store.obligations(cycle: 2).map(\.source) == [after.key])
        #expect(next.clearings.map(\.currency.code) == ["USD"])
        try l.reopen()
        #expect(try l.store.cycles().map(CycleImage.init) == [CycleImage(cycle), CycleImage(next)])
        try l.expectBooks()
    }

    @Test(
        "closing the same or an earlier cut-off is alreadyClosed and leaves the file's content as it was",
        arguments: ["2026-03-31T23:59:59Z", "2026-03-31T23:59:58Z", "2025-12-31T00:00:00Z"]
    )
    func closeAgain(through: String) throws {
        var l = try CycleLedger()
        defer { l.remove() }
        var r = Records()
        _ = try activity(&l, &r)
        let first = try #require(try l.close(cutoff).closedCycle)
        let dump = try l.store.contentDump()
        let state = StateImage(l.ledger.state)
        let again = try #require(try l.close(through, now: "2026-04-03T00:00:00Z").alreadyClosedCycle)
        #expect(CycleImage(again) == CycleImage(first))
        #expect(try l.store.contentDump() == dump)
        #expect(StateImage(l.ledger.state) == state)
        try l.reopen()
        #expect(try #require(try l.close(through).alreadyClosedCycle).number == 1)
        #expect(try l.store.contentDump() == dump)
    }

    @Test("late and reversing obligations go to the next cycle; the closed one never changes, on disk either")
    func lateAndReversal() throws {
        var l = try CycleLedger()
        defer { l.remove() }
        var r = Records()
        let (atCutoff, after) = try activity(&l, &r)
        let first = try #require(try l.close(cutoff).closedCycle)
        let firstObligations = try l.store.obligations(cycle: 1)
        // Recorded after the close but dated before the cut-off: past the watermark.
        let late = r.make(harbor, "2026-03-30T12:00:00Z", .redeem(member: alice, units: 1_500))
        try l.accept(late)
        // Harbor cancels the redemption of the closed cycle.
        let reversal = r.make(harbor, "2026-04-05T08:00:00Z", .reverse(original: atCutoff.key.recordID, units: nil))
        try l.accept(reversal)
        let negative = try #require(try l.store.obligations(openOnly: true).first { $0.source == reversal.key })
        #expect(negative.amount == -1_100 && negative.debtor == skyways && negative.creditor == harbor)
        #expect(try l.store.obligations(cycle: 1) == firstObligations)
        #expect(try l.store.cycles().map(CycleImage.init) == [CycleImage(first)])
        #expect(try l.store.obligations(openOnly: true).map(\.source) == [after.key, late.key, reversal.key])
        try l.expectBooks()

        let second = try #require(try l.close("2026-04-30T23:59:59Z", now: "2026-05-01T00:00:00Z").closedCycle)
        #expect(try l.store.obligations(cycle: 2).map(\.source) == [after.key, late.key, reversal.key])
        #expect(try l.store.obligations(cycle: 1) == firstObligations)
        #expect(second.obligationCount == 3)
        let eur = try #require(second.clearings.first { $0.currency.code == "EUR" })
        #expect(eur.gross == [skyways: [harbor: 550 - 1_100]])
        #expect(eur.net[.partner(harbor)] == -550)
        #expect(eur.netTotal <= eur.grossTotal)
        try l.expectBooks()
        try l.reopen()
        #expect(try l.store.cycles().map(CycleImage.init) == [CycleImage(first), CycleImage(second)])
        try l.expectBooks()
    }

    @Test("a currency whose obligations cancel out in a cycle reads back as the close made it")
    func cancellingCurrency() throws {
        var l = try CycleLedger()
        defer { l.remove() }
        var r = Records()
        try l.accept(r.make(skyways, "2026-03-01T00:00:00Z", .enroll(member: alice)))
        try l.accept(r.make(skyways, "2026-03-01T10:00:00Z", .earn(member: alice, units: 100_000)))
        let redeem = r.make(harbor, "2026-03-10T00:00:00Z", .redeem(member: alice, units: 3_000))
        try l.accept(redeem)
        try l.accept(r.make(harbor, "2026-03-11T00:00:00Z", .reverse(original: redeem.key.recordID, units: nil)))
        try l.accept(r.make(roadrunner, "2026-03-12T00:00:00Z", .redeem(member: alice, units: 50_000)))
        let cycle = try #require(try l.close(cutoff).closedCycle)
        #expect(cycle.obligationCount == 3)
        #expect(cycle.clearings.map(\.currency.code) == ["USD"])
        #expect(try l.store.cycles().map(CycleImage.init) == [CycleImage(cycle)])
        try l.reopen()
        #expect(try l.store.cycles().map(CycleImage.init) == [CycleImage(cycle)])
        try l.expectBooks()
    }

    @Test(
        "generated activity over several cycles: membership by watermark and cut-off, all of it read back",
        arguments: [0, 10, 10_000] as [Int64]
    )
    func generated(feeBasisPoints: Int64) throws {
        var l = try CycleLedger(network: try network(feeBasisPoints: feeBasisPoints))
        defer { l.remove() }
        let records = Fixtures.activity(seed: 5 + UInt64(feeBasisPoints), members: 80, records: 1_500)
        let partners = l.network.sortedPartners.map(\.id)
        var batches = Fixtures.batches(records, seed: 5)[...]
        var turn = 0
        var closed: [ClearingCycle] = []
        var late = 0
        // Cut-offs fall mid-activity; the records of up to two days past each are known when
        // it closes, and some batches arrive only after (late).
        let cutoffs = ["2026-09-17T00:00:00Z", "2026-09-28T06:00:00Z", "2026-10-15T23:59:59Z", "2026-10-31T00:00:00Z"]
        for cutoff in cutoffs {
            let limit = Fixtures.time(cutoff).adding(days: 2)
            var heldBack: [[LedgerRecord]] = []
            while let batch = batches.first, batch[0].occurredAt <= limit {
                batches = batches.dropFirst()
                // Every fourth batch arrives only after the close: its records are late.
                if turn % 4 == 3 && heldBack.isEmpty {
                    heldBack.append(batch)
                } else {
                    try l.apply(batch, as: partners[turn % partners.count])
                }
                turn += 1
            }
            let open = try l.store.obligations(openOnly: true)
            let watermark = l.ledger.state.lastObligationID
            let cycle = try #require(try l.close(cutoff, now: "2026-11-20T00:00:00Z").closedCycle)
            #expect(cycle.watermark == watermark)
            let taken = open.filter { $0.occurredAt <= Fixtures.time(cutoff) }
            #expect(try l.store.obligations(cycle: cycle.number).map(\.id) == taken.map(\.id))
            #expect(cycle.obligationCount == taken.count)
            #expect(taken.count > 0, "cycle \(cycle.number) takes nothing: a weak case")
            let expected = try Netting.clear(taken, feeBasisPoints: feeBasisPoints)
            #expect(cycle.clearings.map(ClearingImage.init) == expected.map(ClearingImage.init))
            for clearing in cycle.clearings {
                #expect(clearing.net.values.reduce(0, +) == 0)
                #expect(clearing.netTotal <= clearing.grossTotal)
            }
            // The batches named are those whose records made the cycle's obligations.
            var expectedBatches: [Int64: Set<PartnerID>] = [:]
            for o in taken { expectedBatches[o.batch, default: []].formUnion([o.debtor, o.creditor]) }
            var named: [Int64: Set<PartnerID>] = [:]
            for reference in cycle.batches {
                let row = try #require(try l.store.batch(partner: reference.partner, sequence: reference.sequence))
                named[row.id] = reference.counterparties
            }
            #expect(named == expectedBatches)
            #expect(cycle.batches.count == expectedBatches.count)
            try l.expectBooks()
            closed.append(cycle)
            #expect(try l.store.cycles().map(CycleImage.init) == closed.map(CycleImage.init))
            for batch in heldBack { try l.apply(batch, as: partners[turn % partners.count]) }
            late += try l.store.obligations(openOnly: true).filter { $0.occurredAt <= cycle.through }.count
        }
        #expect(late > 0)
        // Late activity: the rest, some of it dated before the last cut-off.
        for batch in batches {
            try l.apply(batch, as: partners[turn % partners.count])
            turn += 1
        }
        try l.reopen()
        let reloaded = try l.store.cycles()
        #expect(reloaded.map(CycleImage.init) == closed.map(CycleImage.init))
        // A statement written from the cycle on disk is the one written when it closed.
        for (made, read) in zip(closed, reloaded) {
            for partner in partners {
                #expect(
                    Statement.lines(for: partner, cycle: read, keyID: "K")
                        == Statement.lines(for: partner, cycle: made, keyID: "K")
                )
            }
        }
        try l.expectBooks()
        let all = try l.store.obligations(openOnly: false)
        #expect(all.contains { $0.amount < 0 })
        for o in all {
            let covering = closed.first { $0.covers(id: o.id, occurredAt: o.occurredAt) }
            #expect(o.cycle == covering?.number)
        }
    }
}
