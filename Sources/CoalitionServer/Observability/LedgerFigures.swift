import CoalitionKit

/// The ledger's figures that `/metrics` shows, read together on the writer thread so they
/// are of one moment: between two batches, never in the middle of one.
package struct LedgerFigures: Sendable, Equatable {
    /// Per currency: the open obligations (not yet in a cycle), how many and their sum.
    package struct OpenObligations: Sendable, Equatable {
        package let currency: String
        package let count: Int64
        /// Minor units of `currency`.
        package let amount: Int64
    }

    /// Per issuer: its points members hold (its liability) and those that expired unused.
    package struct IssuerPoints: Sendable, Equatable {
        package let issuer: String
        package let outstanding: Int64
        package let breakage: Int64
    }

    /// Postings in the journal: the last sequence number, since they are numbered from 1
    /// without gaps.
    package let postings: Int64
    package let batches: Int64
    package let members: Int64
    package let obligations: [OpenObligations]
    package let issuers: [IssuerPoints]
    /// The referral programme's figures (nil: the network never ran one).
    package var referrals: ReferralFigures?

    /// The figures of `ledger`, as they stand. Call on the thread that owns it.
    package init(ledger: Ledger) throws {
        let state = ledger.state
        postings = state.lastSeq
        batches = state.lastBatch
        members = Int64(state.members.count)
        var sums: [String: (count: Int64, amount: Int64)] = [:]
        for currency in ledger.network.sortedPartners.map(\.settlementCurrency.code) {
            sums[currency] = (0, 0)
        }
        for obligation in try ledger.store.obligations(openOnly: true) {
            let current = sums[obligation.currency.code] ?? (0, 0)
            sums[obligation.currency.code] = (current.count + 1, current.amount + obligation.amount)
        }
        obligations = sums.keys.sorted().map {
            OpenObligations(currency: $0, count: sums[$0]!.count, amount: sums[$0]!.amount)
        }
        // With a referral programme, the coalition's own points too (the bonuses it funds).
        let issuerIDs = ledger.network.sortedPartners.map(\.id) + (ledger.network.referrals != nil ? [.coalition] : [])
        issuers = issuerIDs.map { id in
            IssuerPoints(
                issuer: id.description,
                outstanding: ledger.outstanding(id),
                breakage: ledger.balance(of: AccountKey(Account.breakage(id), Account.points))
            )
        }
    }

    /// The ledger families, appended to `text`.
    func write(into text: inout MetricsText) {
        text.family("coalition_ledger_postings", type: "gauge", help: "Postings in the journal.")
        text.sample("coalition_ledger_postings", postings)
        text.family("coalition_ledger_batches", type: "gauge", help: "Batches committed.")
        text.sample("coalition_ledger_batches", batches)
        text.family("coalition_ledger_members", type: "gauge", help: "Members enrolled.")
        text.sample("coalition_ledger_members", members)
        let count = "coalition_ledger_open_obligations"
        text.family(count, type: "gauge", help: "Obligations not yet in a clearing cycle, by currency.")
        for line in obligations { text.sample(count, [("currency", line.currency)], line.count) }
        let amount = "coalition_ledger_open_obligations_minor_units"
        text.family(amount, type: "gauge", help: "Sum of the open obligations in minor units of their currency.")
        for line in obligations { text.sample(amount, [("currency", line.currency)], line.amount) }
        let outstanding = "coalition_ledger_points_outstanding"
        text.family(outstanding, type: "gauge", help: "Points of an issuer that members hold: its liability.")
        for line in issuers { text.sample(outstanding, [("issuer", line.issuer)], line.outstanding) }
        let breakage = "coalition_ledger_breakage_points"
        text.family(breakage, type: "gauge", help: "Points of an issuer that expired unused.")
        for line in issuers { text.sample(breakage, [("issuer", line.issuer)], line.breakage) }
        referrals?.write(into: &text)
    }
}
