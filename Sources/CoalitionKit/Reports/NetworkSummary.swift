/// The figures an operator looks at first: members, points outstanding per issuer, and open
/// obligations between partners per currency.
public struct NetworkSummary: Sendable {
    public struct IssuerLine: Sendable {
        public let issuer: PartnerID
        public let pointsOutstanding: Int64
        public let openLots: Int
    }

    public struct ObligationLine: Sendable {
        public let debtor: PartnerID
        public let creditor: PartnerID
        public let currency: Currency
        public let amount: Int64
        public let points: Int64
        public let count: Int
    }

    public let members: Int
    public let membersWithDebt: Int
    public let pointsHeld: Int64
    public let issuers: [IssuerLine]
    public let obligations: [ObligationLine]

    public init(ledger: Ledger) throws {
        let state = ledger.state
        members = state.members.count
        membersWithDebt = state.members.values.filter { !$0.debts.isEmpty }.count
        var held: Int64 = 0
        var lotCounts: [PartnerID: Int] = [:]
        for account in state.members.values {
            held += account.balance
            for lot in account.lots { lotCounts[lot.issuer, default: 0] += 1 }
        }
        pointsHeld = held
        // The coalition issues points itself where it funds referral bonuses.
        let issuerIDs = ledger.network.sortedPartners.map(\.id) + (ledger.network.referrals != nil ? [.coalition] : [])
        issuers = issuerIDs.map { id in
            IssuerLine(issuer: id, pointsOutstanding: ledger.outstanding(id), openLots: lotCounts[id] ?? 0)
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
