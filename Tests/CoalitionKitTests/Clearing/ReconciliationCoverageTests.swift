import CoalitionKit
import CoalitionTestSupport
import Testing

@Suite("Reconciliation: a partner can match every obligation it is due or owes")
struct ReconciliationCoverageTests {
    /// Activity with cross-brand spending, earn reversals that leave debts, debts repaid by
    /// other partners' earns, by redemption reversals and by transfers, and reversals of
    /// every kind, closed in one cycle.
    func activity(seed: UInt64) throws -> (TestLedger, ClearingCycle) {
        var random = SeededGenerator(seed: seed)
        var t = try TestLedger()
        var r = RecordMaker()
        let partners = Fixtures.network.sortedPartners.map(\.id)
        let members = (0..<24).map { Fixtures.member(300 + $0) }
        for member in members {
            try t.accept(r.enroll(member, at: partners.randomElement(using: &random)!, "2026-03-01T00:00:00Z"))
        }
        var originals: [LedgerRecord] = []
        var transfers = 0
        for day in 2...27 {
            let time = "2026-03-\(day < 10 ? "0" : "")\(day)T12:00:00Z"
            var batch: [LedgerRecord] = []
            for member in members {
                let partner = partners.randomElement(using: &random)!
                let rate = try Fixtures.network.partner(partner).earnRate(at: Fixtures.time(time))
                let units = try Rate.unitsFor(
                    points: Int64.random(in: 200...4_000, using: &random),
                    rate: rate,
                    rounding: .up
                )
                switch Int.random(in: 0..<10, using: &random) {
                case 0..<4:
                    let earn = r.earn(member, units, at: partner, time)
                    batch.append(earn)
                    originals.append(earn)
                case 4..<7:
                    let redeem = r.redeem(member, units, at: partner, time)
                    batch.append(redeem)
                    originals.append(redeem)
                default:
                    if let original = originals.randomElement(using: &random) {
                        let part: Int64? = random.chance(50) ? nil : Int64.random(in: 1...500, using: &random)
                        batch.append(r.reverse(original, part, time))
                    }
                }
            }
            try t.apply(batch)
            // Transfers to members in debt repay it with the sender's points.
            let inDebt = members.filter { !(t.ledger.member($0)?.debts.isEmpty ?? true) }
            for receiver in inDebt.prefix(2) {
                guard
                    let sender = members.first(where: {
                        ($0 != receiver) && (t.ledger.member($0)?.available(at: Fixtures.time(time)) ?? 0) >= 2_000
                    })
                else { continue }
                let request = TransferRequest(
                    from: sender,
                    to: receiver,
                    points: 1_000,
                    idempotencyKey: nil,
                    at: Fixtures.time(time).adding(seconds: 60)
                )
                if (try? t.ledger.transfer(request)) != nil { transfers += 1 }
            }
        }
        #expect(transfers > 0)
        guard
            case .closed(let cycle) = try CycleCloser.close(
                t.ledger,
                through: Fixtures.time("2026-03-31T00:00:00Z"),
                now: Fixtures.time("2026-04-01T00:00:00Z")
            )
        else { throw CoalitionError(.auditFailed, "no cycle") }
        return (t, cycle)
    }

    @Test(
        "every partner reconciles 100% of its gross due and owed over generated activity",
        arguments: [1, 2, 3] as [UInt64]
    )
    func fullCoverage(seed: UInt64) throws {
        let (t, cycle) = try activity(seed: seed)
        let obligations = try t.store.obligations(cycle: cycle.number)
        // The activity has obligations made by another partner's record and by transfers.
        #expect(obligations.contains { $0.source.partner != $0.creditor && $0.source.partner != $0.debtor })
        #expect(obligations.contains { $0.source.partner.rawValue == "~TRANSFER" })
        for partner in Fixtures.network.sortedPartners.map(\.id) {
            // The partner's own view: every obligation it is a party to, by the record (or
            // operator action) that made it, plus what it is due, minus what it owes.
            var view: [String: Money] = [:]
            for o in obligations where o.creditor == partner || o.debtor == partner {
                let reference =
                    o.source.partner == partner ? o.source.recordID : "\(o.source.recordID)|\(o.source.partner)"
                let signed = o.creditor == partner ? o.amount : -o.amount
                view[reference] = try (view[reference] ?? Money(0, o.currency)).adding(Money(signed, o.currency))
            }
            let entries = view.sorted { $0.key < $1.key }.enumerated().map {
                (line: $0.offset + 2, entry: Reconciliation.Entry(recordID: $0.element.key, amount: $0.element.value))
            }
            let report = try Reconciliation.match(entries, partner: partner, cycle: cycle.number, ledger: t.ledger)
            #expect(
                report.breaks.isEmpty,
                "\(partner): \(report.breaks.count) breaks, first \(report.breaks.first?.recordID ?? "")"
            )
            #expect(report.matchedRecords == entries.count, "\(partner)")
            for clearing in cycle.clearings {
                let gross = (clearing.grossDue[partner] ?? 0) - (clearing.grossOwed[partner] ?? 0)
                #expect(report.matchedTotals[clearing.currency, default: 0] == gross, "\(partner) \(clearing.currency)")
            }
        }
    }
}
