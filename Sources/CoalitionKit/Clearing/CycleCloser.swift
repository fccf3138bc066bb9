/// Closes clearing cycles: collects the open obligations up to a cut-off, nets them per
/// currency, books the settlement, and records the cycle, in one batch.
package enum CycleCloser {
    package enum Result: Sendable {
        case closed(ClearingCycle)
        /// The cut-off is not after the last cycle's: nothing new was closed.
        case alreadyClosed(ClearingCycle)
    }

    /// Closes the cycle through `through` (inclusive), at `now`.
    package static func close(_ ledger: Ledger, through: Timestamp, now: Timestamp) throws -> Result {
        let cycles = try ledger.store.cycles()
        if let last = cycles.last, through <= last.through {
            return .alreadyClosed(last)
        }
        let number = (cycles.last?.number ?? 0) + 1
        let watermark = ledger.state.lastObligationID
        let (totals, batches) = try ledger.store.openObligationTotals(through: through, watermark: watermark)
        let clearings = try Netting.clear(totals: totals, feeBasisPoints: ledger.network.clearing.feeBasisPoints)
        let legs = settlementLegs(clearings)
        let count = totals.reduce(0) { $0 + $1.count }
        var cycle: ClearingCycle?
        try ledger.batch(BatchInfo(source: "cycle:\(number)", receivedAt: now)) { session in
            try session.post(
                kind: .settle,
                occurredAt: through,
                legs: legs,
                detail: PostingDetail.settlement(cycle: number)
            ) { seq in
                let made = ClearingCycle(
                    number: number,
                    through: through,
                    closedAt: now,
                    watermark: watermark,
                    obligationCount: count,
                    postingSeq: seq,
                    clearings: clearings,
                    batches: batches
                )
                cycle = made
                return made
            }
            // In the cycle's own transaction: the events exist if and only if it closed.
            if let cycle { session.summary.events = PartnerEvents.cycleClosed(cycle, network: ledger.network, at: now) }
        }
        return .closed(cycle!)
    }

    /// The settlement posting: the cycle's gross obligations leave the receivable and
    /// payable accounts; each participant's net (after fees) lands in its settlement
    /// account, and the fees in the clearing house's.
    static func settlementLegs(_ clearings: [CurrencyClearing]) -> [Leg] {
        var legs: [Leg] = []
        for clearing in clearings {
            let code = clearing.currency.code
            for (partner, due) in clearing.grossDue.sorted(by: { $0.key < $1.key }) where due != 0 {
                legs.append(Leg(Account.receivable(partner), code, -due))
            }
            for (partner, owed) in clearing.grossOwed.sorted(by: { $0.key < $1.key }) where owed != 0 {
                legs.append(Leg(Account.payable(partner), code, owed))
            }
            for (participant, net) in clearing.net.sorted(by: { $0.key < $1.key }) {
                legs.append(Leg(Account.settlement(participant), code, net))
            }
        }
        return legs
    }
}

extension Netting {
    /// Nets per-pair totals (what a cycle collects from the store).
    package static func clear(totals: [ObligationTotal], feeBasisPoints: Int64) throws -> [CurrencyClearing] {
        var byCurrency: [Currency: [PartnerID: [PartnerID: Int64]]] = [:]
        for t in totals where t.debtor != t.creditor {
            let current = byCurrency[t.currency, default: [:]][t.debtor, default: [:]][t.creditor, default: 0]
            byCurrency[t.currency, default: [:]][t.debtor, default: [:]][t.creditor] = try Checked.add(
                current,
                t.amount
            )
        }
        // A currency whose pairs all sum to zero has nothing to settle: no clearing, as a
        // store reading the cycle back (which keeps only what is owed) has none either.
        return try byCurrency.keys.sorted().map { currency in
            try clear(currency: currency, gross: byCurrency[currency]!, feeBasisPoints: feeBasisPoints)
        }.filter { !$0.gross.isEmpty }
    }
}

extension Account {
    /// What a participant is to be paid (plus) or to pay (minus) in settlement of closed
    /// cycles.
    package static func settlement(_ participant: Participant) -> String { "settlement:\(participant)" }
}
