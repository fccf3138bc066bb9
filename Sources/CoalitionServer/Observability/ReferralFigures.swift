import CoalitionKit
import Synchronization

/// The referral programme's figures that `/metrics` shows: links made, bonuses waiting for
/// their qualifying earn, and per funding issuer the bonuses paid and taken back and their
/// points, read from the ledger (the links from its state, the rest from the journal).
package struct ReferralFigures: Sendable, Equatable {
    /// One funding issuer's bonuses, since the ledger began.
    package struct Issuer: Sendable, Equatable {
        package let issuer: String
        package let bonusesPaid: Int64
        package let bonusesTakenBack: Int64
        package let pointsPaid: Int64
        package let pointsTakenBack: Int64
    }

    /// Members linked to a referrer.
    package let links: Int64
    /// Links whose bonus is still to be paid.
    package let pending: Int64
    package let issuers: [Issuer]

    /// The figures of `ledger`, with `report` read from its journal up to its last posting.
    init(ledger: Ledger, report: ReferralReport) {
        let links = ledger.state.referrals.links.values
        self.links = Int64(links.count)
        pending = Int64(links.filter(\.isPending).count)
        issuers = report.totals.map {
            Issuer(
                issuer: $0.issuer.rawValue,
                bonusesPaid: Int64($0.bonusesPaid),
                bonusesTakenBack: Int64($0.bonusesTakenBack),
                pointsPaid: $0.pointsPaid,
                pointsTakenBack: $0.pointsTakenBack
            )
        }
    }

    /// The referral families, appended to `text`.
    func write(into text: inout MetricsText) {
        text.family("coalition_ledger_referral_links", type: "gauge", help: "Members linked to a referrer.")
        text.sample("coalition_ledger_referral_links", links)
        let pendingName = "coalition_ledger_referral_bonuses_pending"
        text.family(pendingName, type: "gauge", help: "Referral links whose bonus waits for a qualifying earn.")
        text.sample(pendingName, pending)
        let families: [(String, String, (Issuer) -> Int64)] = [
            ("coalition_ledger_referral_bonuses_total", "Referral bonuses paid, by funding issuer.", \.bonusesPaid),
            (
                "coalition_ledger_referral_bonuses_taken_back_total",
                "Referral bonuses taken back (clawbacks), by funding issuer.", \.bonusesTakenBack
            ),
            (
                "coalition_ledger_referral_bonus_points_total", "Referral bonus points paid, by funding issuer.",
                \.pointsPaid
            ),
            (
                "coalition_ledger_referral_bonus_points_taken_back_total",
                "Referral bonus points taken back by clawbacks, by funding issuer.", \.pointsTakenBack
            ),
        ]
        for (name, help, value) in families {
            text.family(name, type: "counter", help: help)
            for line in issuers { text.sample(name, [("issuer", line.issuer)], value(line)) }
        }
    }
}

/// The journal's referral tally, kept between scrapes so each reads only the postings
/// since the last one.
final class ReferralTallyKeeper: Sendable {
    private let tally = Mutex(ReferralReport.Tally())

    /// The figures of `ledger`, nil for a network that never ran a referral programme. Call
    /// on the thread that owns it.
    func figures(_ ledger: Ledger) throws -> ReferralFigures? {
        guard ledger.network.referrals != nil || !ledger.state.referrals.isEmpty else { return nil }
        var advanced = tally.withLock { $0 }
        try advanced.advance(ledger)
        tally.withLock { kept in if kept.throughSeq < advanced.throughSeq { kept = advanced } }
        return ReferralFigures(ledger: ledger, report: ReferralReport(tally: advanced))
    }
}
