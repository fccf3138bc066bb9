import CoalitionFiles
import CoalitionGeneration
import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

@Suite("Clearing: netting, cycle boundaries, statements, reconciliation, the HTML report")
struct ClearingCoreTests {
    let skyways = Fixtures.skyways
    let harbor = Fixtures.harbor
    let alice = Fixtures.member(1)
    let bob = Fixtures.member(2)

    /// Generated obligations between `partners` partners in a few currencies.
    func generated(seed: UInt64, partners: Int, count: Int) throws -> [Obligation] {
        var random = SeededGenerator(seed: seed)
        let ids = try (0..<partners).map { try PartnerID("P\($0 + 10)") }
        let currencies = try ["USD", "EUR", "JPY", "KWD"].prefix(1 + Int(seed % 4)).map { try Currency(code: $0) }
        return try (0..<count).map { index in
            let debtor = ids[Int.random(in: 0..<partners, using: &random)]
            var creditor = ids[Int.random(in: 0..<partners, using: &random)]
            if creditor == debtor { creditor = ids[(ids.firstIndex(of: debtor)! + 1) % partners] }
            let amount = Int64.random(in: -5_000...200_000, using: &random)
            return Obligation(
                id: Int64(index + 1),
                postingSeq: Int64(index + 1),
                batch: 1,
                debtor: debtor,
                creditor: creditor,
                currency: currencies[Int.random(in: 0..<currencies.count, using: &random)],
                amount: amount,
                points: amount,
                occurredAt: Timestamp(seconds: Int64(index)),
                source: try RecordKey(partner: creditor, recordID: "X\(index)"),
                member: Fixtures.member(index % 50),
                cycle: nil
            )
        }
    }

    @Test(
        "netting generated networks: nets sum to zero, both forms settle them exactly, n-1 payments at most",
        arguments: 1...24
    )
    func nettingProperties(seed: Int) throws {
        let partners = 3 + seed % 10
        let fee = Int64(seed % 3 == 0 ? 0 : 25)
        let obligations = try generated(seed: UInt64(seed), partners: partners, count: 2_000 + seed * 50)
        let clearings = try Netting.clear(obligations, feeBasisPoints: fee)
        #expect(!clearings.isEmpty)
        for clearing in clearings {
            #expect(clearing.net.values.reduce(0, +) == 0, "\(clearing.currency)")
            #expect(clearing.netTotal <= clearing.grossTotal)
            for form in [clearing.centralCounterparty, clearing.fewestPayments] {
                var settled: [Participant: Int64] = [:]
                for payment in form {
                    #expect(payment.amount > 0)
                    settled[payment.payer, default: 0] -= payment.amount
                    settled[payment.payee, default: 0] += payment.amount
                }
                #expect(settled.filter { $0.value != 0 } == clearing.net)
            }
            let nonZero = clearing.net.filter { $0.value != 0 }.count
            #expect(clearing.fewestPayments.count <= max(0, nonZero - 1))
            // The fee: floor(bp × what each receiver would have had), kept by the clearing house.
            var fees: Int64 = 0
            for (partner, charged) in clearing.fees {
                let before = (clearing.net[.partner(partner)] ?? 0) + charged
                #expect(charged == before * fee / 10_000)
                fees += charged
            }
            #expect((clearing.net[.clearingHouse] ?? 0) == fees)
            // Gross matrix = the sums of the obligations of that currency.
            var gross: [String: Int64] = [:]
            for o in obligations where o.currency == clearing.currency {
                gross["\(o.debtor)>\(o.creditor)", default: 0] += o.amount
            }
            for (debtor, row) in clearing.gross {
                for (creditor, amount) in row { #expect(gross["\(debtor)>\(creditor)"] == amount) }
            }
        }
    }

    /// Alice earns at Skyways and redeems at Harbor at the given times.
    func ledgerWithRedemptions(at times: [String]) throws -> (TestLedger, [LedgerRecord]) {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-10T00:00:00Z"))
        try t.accept(r.earn(alice, 200_000, at: skyways, "2026-02-01T00:00:00Z"))
        var redemptions: [LedgerRecord] = []
        for time in times {
            let redeem = r.redeem(alice, 3_000, at: harbor, time)
            try t.accept(redeem)
            redemptions.append(redeem)
        }
        return (t, redemptions)
    }

    @Test("cycle boundaries: at the cut-off joins, a second later waits, the same cut-off twice does nothing")
    func boundaries() throws {
        let (t, _) = try ledgerWithRedemptions(at: ["2026-03-01T00:00:00Z", "2026-03-01T00:00:01Z"])
        let cutoff = Fixtures.time("2026-03-01T00:00:00Z")
        guard case .closed(let first) = try CycleCloser.close(t.ledger, through: cutoff, now: cutoff) else {
            Issue.record("the first cycle did not close")
            return
        }
        #expect(first.number == 1)
        #expect(first.obligationCount == 1)
        #expect(try t.store.obligations(openOnly: true).count == 1)
        try t.checkEverything()
        let before = StateImage(t.ledger.state)
        for again in [cutoff, cutoff.adding(seconds: -10)] {
            guard case .alreadyClosed(let last) = try CycleCloser.close(t.ledger, through: again, now: cutoff) else {
                Issue.record("closing \(again) again closed something new")
                return
            }
            #expect(last.number == 1)
        }
        #expect(StateImage(t.ledger.state) == before)
        guard
            case .closed(let second) = try CycleCloser.close(t.ledger, through: cutoff.adding(seconds: 1), now: cutoff)
        else {
            Issue.record("the second cycle did not close")
            return
        }
        #expect(second.obligationCount == 1)
        #expect(try t.store.obligations(openOnly: true).isEmpty)
        try t.checkEverything()
    }

    @Test("a late obligation joins the next cycle; a reversal lands in a later cycle; closed cycles never change")
    func lateAndReversal() throws {
        var (t, redemptions) = try ledgerWithRedemptions(at: ["2026-03-01T00:00:00Z"])
        let cutoff = Fixtures.time("2026-03-02T00:00:00Z")
        _ = try CycleCloser.close(t.ledger, through: cutoff, now: cutoff)
        let closed = try t.store.cycles()[0]
        // Recorded after the close, dated before the cut-off.
        var r = RecordMaker(counter: 100)
        try t.accept(r.redeem(alice, 3_000, at: harbor, "2026-03-01T12:00:00Z"))
        // The first redemption is reversed in full after its cycle closed.
        #expect(try t.accept(r.reverse(redemptions[0], nil, "2026-03-05T00:00:00Z")) == 1_000)
        let open = try t.store.obligations(openOnly: true)
        #expect(open.count == 2)
        #expect(open.map(\.amount).reduce(0, +) == 0)  // +1,000 points and −1,000 points at 1.1 cents
        guard
            case .closed(let later) = try CycleCloser.close(
                t.ledger,
                through: Fixtures.time("2026-03-31T00:00:00Z"),
                now: cutoff
            )
        else {
            Issue.record("the later cycle did not close")
            return
        }
        #expect(later.obligationCount == 2)
        #expect(later.clearings.allSatisfy { $0.net.values.allSatisfy { $0 == 0 } })
        let again = try t.store.cycles()[0]
        #expect(again.obligationCount == closed.obligationCount)
        #expect(again.clearings.map(\.net) == closed.clearings.map(\.net))
        #expect(try t.store.obligations(cycle: 1).count == 1)
        #expect(try t.store.obligations(cycle: 2).count == 2)
        try t.checkEverything()
        redemptions = []
    }

    /// A closed cycle with activity among all four partners.
    func busyCycle() throws -> (TestLedger, ClearingCycle) {
        var t = try TestLedger()
        let plan = ActivityGenerator.Plan(
            members: 40,
            records: 1_500,
            start: Fixtures.time("2026-03-01T00:00:00Z"),
            days: 56,
            seed: 77
        )
        let (enrollments, activity) = ActivityGenerator.generate(network: t.ledger.network, plan: plan)
        try t.apply(enrollments)
        for chunk in stride(from: 0, to: activity.count, by: 300) {
            try t.apply(Array(activity[chunk..<min(activity.count, chunk + 300)]))
        }
        guard
            case .closed(let cycle) = try CycleCloser.close(
                t.ledger,
                through: Fixtures.time("2026-06-30T00:00:00Z"),
                now: Fixtures.time("2026-07-01T00:00:00Z")
            )
        else { throw CoalitionError(.auditFailed, "no cycle") }
        return (t, cycle)
    }

    @Test("a statement agrees with the cycle, verifies under its partner's key only, and breaks with any byte changed")
    func statements() throws {
        let (_, cycle) = try busyCycle()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let keys = try Dictionary(
            uniqueKeysWithValues: Fixtures.network.sortedPartners.map { partner in
                (
                    partner.id,
                    try KeyRing.load(
                        partner,
                        directory: (Fixtures.partnersDirectory as NSString).appendingPathComponent("keys")
                    )
                )
            }
        )
        let path = directory.file("harbor.stmt")
        try Statement.write(for: harbor, cycle: cycle, ring: keys[harbor]!, to: path)
        let key = try keys[harbor]!.signingKey(at: cycle.closedAt).secret
        #expect(try FileSigning.verify(path: path, kinds: [.statement], key: key).partner == harbor)
        let other = try keys[skyways]!.signingKey(at: cycle.closedAt).secret
        #expect(throws: CoalitionError.self) { try FileSigning.verify(path: path, kinds: [.statement], key: other) }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for clearing in cycle.clearings {
            let net = clearing.net[.partner(harbor)] ?? 0
            let owed = clearing.grossOwed[harbor] ?? 0
            let due = clearing.grossDue[harbor] ?? 0
            if owed != 0 || due != 0 {
                #expect(
                    text.contains("\nN|\(clearing.currency.code)|\(owed)|\(due)|\(clearing.fees[harbor] ?? 0)|\(net)\n")
                )
            }
        }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        for index in stride(from: 0, to: bytes.count - 1, by: 7) {
            var changed = bytes
            changed[index] = changed[index] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
            let damaged = directory.file("damaged.stmt")
            try Data(changed).write(to: URL(fileURLWithPath: damaged))
            #expect(throws: CoalitionError.self, "byte \(index)") {
                try FileSigning.verify(path: damaged, kinds: [.statement], key: key)
            }
        }
    }

    @Test("reconciliation matches a perfect view and finds every kind of break planted in it")
    func reconciliation() throws {
        let (t, cycle) = try busyCycle()
        let partner = harbor
        let view = try Reconciliation.ledgerView(t.ledger, partner: partner)
        let perfect = view.compactMap { id, sides in
            sides.first { $0.cycle == cycle.number }.map { Reconciliation.Entry(recordID: id, amount: $0.amount) }
        }.sorted { $0.recordID < $1.recordID }
        #expect(perfect.count >= 5)
        let clean = try Reconciliation.match(
            perfect.enumerated().map { ($0.offset + 2, $0.element) },
            partner: partner,
            cycle: cycle.number,
            ledger: t.ledger
        )
        #expect(clean.breaks.isEmpty)
        #expect(clean.matchedRecords == perfect.count)

        var planted = perfect
        let amount = planted[0]
        planted[0] = .init(
            recordID: amount.recordID,
            amount: Money(amount.amount.minorUnits + 1, amount.amount.currency)
        )
        let currency = planted[1]
        let otherCurrency = try Currency(code: currency.amount.currency.code == "EUR" ? "USD" : "EUR")
        planted[1] = .init(recordID: currency.recordID, amount: Money(currency.amount.minorUnits, otherCurrency))
        let removed = planted.remove(at: 2)
        planted.append(.init(recordID: "NEVER-SEEN", amount: Money(100, amount.amount.currency)))
        planted.append(planted[3])
        let report = try Reconciliation.match(
            planted.enumerated().map { ($0.offset + 2, $0.element) },
            partner: partner,
            cycle: cycle.number,
            ledger: t.ledger
        )
        func kinds(_ id: String) -> [ReconciliationReport.BreakKind] {
            report.breaks.filter { $0.recordID == id }.map(\.kind)
        }
        #expect(kinds(amount.recordID) == [.amountDiffers])
        #expect(kinds(currency.recordID) == [.currencyDiffers])
        #expect(kinds(removed.recordID) == [.missingInPartnerFile])
        #expect(kinds("NEVER-SEEN") == [.missingInLedger])
        #expect(kinds(planted[3].recordID) == [.duplicateInPartnerFile])
        #expect(report.matchedRecords == perfect.count - 3)
        #expect(report.breaks.first { $0.kind == .missingInLedger }?.line == planted.count)
        // A record of another cycle: pretend the file is about cycle 99.
        let elsewhere = try Reconciliation.match([(2, perfect[0])], partner: partner, cycle: 99, ledger: t.ledger)
        #expect(elsewhere.breaks.map(\.kind) == [.differentCycle])
        #expect(elsewhere.breaks.first?.ledgerCycle == cycle.number)
    }

    @Test("the cycle's HTML page is well-formed XML with an SVG per figure and the cycle's numbers")
    func htmlReport() throws {
        let (t, cycle) = try busyCycle()
        let html = CycleReport.html(cycle, network: t.ledger.network)
        let parser = XMLParser(data: Data(html.utf8))
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        #expect(html.components(separatedBy: "<svg").count - 1 == 4 * cycle.clearings.count)
        for clearing in cycle.clearings {
            let e = clearing.currency.minorUnitExponent
            #expect(html.contains(Money.decimal(clearing.grossTotal, exponent: e)))
            #expect(html.contains(Money.decimal(clearing.netTotal, exponent: e)))
            for net in clearing.net.values { #expect(html.contains(Money.decimal(net, exponent: e))) }
        }
        let positions = CycleReport.html(
            positions: try PositionsReport(ledger: t.ledger, asOf: cycle.closedAt),
            network: t.ledger.network
        )
        #expect(XMLParser(data: Data(positions.utf8)).parse())
        let liability = CycleReport.html(
            liability: try LiabilityReport(ledger: t.ledger, asOf: cycle.closedAt),
            network: t.ledger.network
        )
        #expect(XMLParser(data: Data(liability.utf8)).parse())
    }
}
