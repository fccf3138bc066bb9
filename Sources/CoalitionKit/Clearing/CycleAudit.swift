/// The audit of closed cycles: each stored cycle must be what its settlement posting in the
/// hash-chained journal says, and what its obligations add up to. A cycle's tables are not
/// hashed themselves; this ties them to the chain.
package enum CycleAudit {
    /// Every difference found, as the audit words it.
    package static func problems(_ ledger: Ledger) throws -> [String] {
        var problems: [String] = []
        for cycle in try ledger.store.cycles() {
            problems += try self.problems(of: cycle, store: ledger.store)
        }
        return problems
    }

    static func problems(of cycle: ClearingCycle, store: any LedgerStore) throws -> [String] {
        var problems: [String] = []
        let name = "cycle \(cycle.number)"
        for clearing in cycle.clearings {
            let sum = clearing.net.values.reduce(0, &+)
            if sum != 0 {
                problems.append("\(name)'s net positions in \(clearing.currency) sum to \(sum), not zero")
            }
        }
        // The settlement posting's legs are hashed: the stored matrix and nets must give them.
        guard let posting = try store.posting(seq: cycle.postingSeq), posting.kind == .settle,
            posting.detail == PostingDetail.settlement(cycle: cycle.number)
        else {
            problems.append("\(name)'s settlement posting \(cycle.postingSeq) is not in the journal")
            return problems
        }
        func sorted(_ legs: [Leg]) -> [String] { legs.map { "\($0.account) \($0.unit) \($0.amount)" }.sorted() }
        if sorted(CycleCloser.settlementLegs(cycle.clearings)) != sorted(posting.legs) {
            problems.append(
                "\(name)'s gross matrix, net positions or fees are not what its settlement posting "
                    + "\(cycle.postingSeq) booked"
            )
        }
        if posting.occurredAt != cycle.through {
            problems.append("\(name)'s cut-off is not the date of its settlement posting")
        }
        // The gross matrix is the sum of the cycle's obligations per pair.
        var gross: [String: Int64] = [:]
        for obligation in try store.obligations(cycle: cycle.number) where obligation.debtor != obligation.creditor {
            gross["\(obligation.currency) \(obligation.debtor) \(obligation.creditor)", default: 0] &+=
                obligation.amount
        }
        gross = gross.filter { $0.value != 0 }
        var stored: [String: Int64] = [:]
        for clearing in cycle.clearings {
            for (debtor, row) in clearing.gross {
                for (creditor, amount) in row where amount != 0 {
                    stored["\(clearing.currency) \(debtor) \(creditor)"] = amount
                }
            }
        }
        if gross != stored {
            problems.append("\(name)'s gross matrix is not the sum of its obligations")
        }
        return problems
    }
}
