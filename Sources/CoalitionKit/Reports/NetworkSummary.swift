/// The figures an operator looks at first: members, points outstanding per issuer, and open
/// obligations between partners per currency.
///
/// Figures are of live points at a given time: points members still hold past their expiry
/// (dead, `expire` not yet run) are counted apart as pending breakage, not in balances.
package struct NetworkSummary: Sendable {
    package struct IssuerLine: Sendable {
        package let issuer: PartnerID
        /// Live points of this issuer that members hold, less what they owe it.
        package let pointsOutstanding: Int64
        package let openLots: Int
        /// Points of this issuer held past their expiry, breakage pending.
        package let expiredPending: Int64
    }

    package struct ObligationLine: Sendable {
        package let debtor: PartnerID
        package let creditor: PartnerID
        package let currency: Currency
        package let amount: Int64
        package let points: Int64
        package let count: Int
    }

    package let members: Int
    package let membersWithDebt: Int
    /// Members' balances summed: live points less points owed.
    package let pointsHeld: Int64
    /// Points members hold past their expiry, breakage pending: in no balance above.
    package let expiredPending: Int64
    package let issuers: [IssuerLine]
    package let obligations: [ObligationLine]

    /// The summary as of `time`: a lot is dead from its expiry date on.
    package init(ledger: Ledger, at time: Timestamp) throws {
        let state = ledger.state
        members = state.members.count
        membersWithDebt = state.members.values.filter { !$0.debts.isEmpty }.count
        var held: Int64 = 0
        var lotCounts: [PartnerID: Int] = [:]
        var dead: [PartnerID: Int64] = [:]
        for account in state.members.values {
            held += account.balance(at: time)
            for lot in account.lots {
                if lot.expiresAt <= time {
                    dead[lot.issuer, default: 0] += lot.points
                } else {
                    lotCounts[lot.issuer, default: 0] += 1
                }
            }
        }
        pointsHeld = held
        expiredPending = dead.values.reduce(0, +)
        // The coalition issues points itself where it funds referral bonuses.
        let issuerIDs = ledger.network.sortedPartners.map(\.id) + (ledger.network.referrals != nil ? [.coalition] : [])
        issuers = issuerIDs.map { id in
            IssuerLine(
                issuer: id,
                pointsOutstanding: ledger.outstanding(id) - (dead[id] ?? 0),
                openLots: lotCounts[id] ?? 0,
                expiredPending: dead[id] ?? 0
            )
        }
        struct Pair: Hashable {
            let debtor: PartnerID
            let creditor: PartnerID
            let currency: Currency
        }
        var sums: [Pair: (Int64, Int64, Int)] = [:]
        for o in try ledger.store.obligations(openOnly: true) {
            let pair = Pair(debtor: o.debtor, creditor: o.creditor, currency: o.currency)
            let current = sums[pair] ?? (0, 0, 0)
            sums[pair] = (current.0 + o.amount, current.1 + o.points, current.2 + 1)
        }
        obligations = sums.map { pair, sum in
            ObligationLine(
                debtor: pair.debtor,
                creditor: pair.creditor,
                currency: pair.currency,
                amount: sum.0,
                points: sum.1,
                count: sum.2
            )
        }.sorted { ($0.currency.code, $0.debtor, $0.creditor) < ($1.currency.code, $1.debtor, $1.creditor) }
    }
}
