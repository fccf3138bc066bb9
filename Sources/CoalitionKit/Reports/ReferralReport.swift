/// The referral programme's figures per calendar month (UTC) and funding issuer, from the
/// journal: members linked by a code, bonuses paid and their points, points taken back by
/// clawbacks, and the net cost in points and in the issuer's money, which the funding issuer
/// carries as a liability like any other points until they are redeemed (then cleared) or
/// expire (breakage).
///
/// Money: each bonus's points at the funding issuer's value per point in force at the
/// qualifying earn's time (`Network.value(of:issuedBy:at:)`), rounded half to even per bonus;
/// points a clawback takes back at the value the bonus was paid at, so a bonus taken back
/// whole costs nothing.
package struct ReferralReport: Sendable {
    package struct Line: Sendable, Hashable {
        /// `YYYY-MM`.
        package let month: String
        /// The issuer that funds the bonuses (a partner, or `COALITION`); for links, which are
        /// made before anyone funds anything, the partner whose record enrolled the member.
        package let issuer: PartnerID
        /// The currency the issuer's points are valued in (nil: `COALITION` with no
        /// `coalitionValue` configured).
        package let currency: Currency?
        package var referrals = 0
        package var bonusesPaid = 0
        package var pointsPaid: Int64 = 0
        package var pointsTakenBack: Int64 = 0
        package var bonusesTakenBack = 0
        /// The paid points' value, in minor units of `currency`.
        package var costPaid: Int64 = 0
        /// The taken-back points' value, in minor units of `currency`.
        package var costTakenBack: Int64 = 0
        /// Whether every bonus of the line had a value in force (else its cost is unknown).
        package var isValued = true

        /// What the month's bonuses cost the issuer, in points.
        package var netPoints: Int64 { pointsPaid - pointsTakenBack }

        /// What the month's bonuses cost the issuer, in its money (nil: not valued).
        package var netCost: Money? {
            guard isValued, let currency else { return nil }
            return Money(costPaid - costTakenBack, currency)
        }

        mutating func add(_ other: Line) {
            referrals += other.referrals
            bonusesPaid += other.bonusesPaid
            pointsPaid += other.pointsPaid
            pointsTakenBack += other.pointsTakenBack
            bonusesTakenBack += other.bonusesTakenBack
            costPaid += other.costPaid
            costTakenBack += other.costTakenBack
            isValued = isValued && other.isValued
        }
    }

    /// What the figures are made from, kept between views so each reads only the postings
    /// since the last: the lines so far, and the time and issuer of each bonus paid, by its
    /// earn's record, to value a clawback at the bonus's value.
    package struct Tally: Sendable {
        var lines: [String: Line] = [:]
        var bonuses: [String: Timestamp] = [:]
        package internal(set) var throughSeq: Int64 = 0

        package init() {}

        /// Reads the postings after `throughSeq` up to the journal's last.
        package mutating func advance(_ ledger: Ledger) throws {
            let last = ledger.state.lastSeq
            guard last > throughSeq else { return }
            let network = ledger.network
            try ledger.store.forEachPosting(in: (throughSeq + 1)...last) { add($0, network: network) }
            throughSeq = last
        }

        mutating func add(_ posting: Posting, network: Network) {
            guard posting.kind == .enroll || posting.kind == .earn || posting.kind == .reverseEarn,
                posting.detail.contains("ref")
            else { return }
            let detail = PostingDetail(posting.detail)
            let month = String(posting.occurredAt.description.prefix(7))
            func update(_ issuer: PartnerID, _ body: (inout Line) -> Void) {
                let key = month + "|" + issuer.rawValue
                var line = lines[key] ?? Line(month: month, issuer: issuer, currency: network.pointCurrency(of: issuer))
                body(&line)
                lines[key] = line
            }
            let record = "\(posting.partner?.rawValue ?? "")|\(posting.recordID ?? "")"
            switch posting.kind {
            case .enroll:
                if detail.referrer != nil, let partner = posting.partner {
                    update(partner) { $0.referrals += 1 }
                }
            case .earn:
                guard let bonus = detail.referralBonus else { return }
                bonuses[record] = posting.occurredAt
                let points = bonus.referredPoints + bonus.referrerPoints
                let cost = network.value(of: points, issuedBy: bonus.issuer, at: posting.occurredAt)
                update(bonus.issuer) {
                    $0.bonusesPaid += 1
                    $0.pointsPaid += points
                    $0.costPaid += cost?.minorUnits ?? 0
                    $0.isValued = $0.isValued && cost != nil
                }
            default:
                guard let back = detail.referralBack else { return }
                let original = "\(posting.partner?.rawValue ?? "")|\(detail.original ?? "")"
                let paidAt = bonuses[original] ?? posting.occurredAt
                let points = back.referred + back.referrer
                let cost = network.value(of: points, issuedBy: back.issuer, at: paidAt)
                update(back.issuer) {
                    $0.bonusesTakenBack += 1
                    $0.pointsTakenBack += points
                    $0.costTakenBack += cost?.minorUnits ?? 0
                    $0.isValued = $0.isValued && cost != nil
                }
            }
        }

        /// The lines by month, then issuer.
        package var sortedLines: [Line] {
            lines.values.sorted { ($0.month, $0.issuer) < ($1.month, $1.issuer) }
        }
    }

    /// By month, then issuer.
    package let lines: [Line]

    /// The figures from the whole journal.
    package init(ledger: Ledger) throws {
        var tally = Tally()
        try tally.advance(ledger)
        self.init(tally: tally)
    }

    /// The figures from `tally`, advanced by the caller.
    package init(tally: Tally) {
        lines = tally.sortedLines
    }

    /// All months together, per issuer (`month` is `all`), in issuer order.
    package var totals: [Line] {
        var byIssuer: [PartnerID: Line] = [:]
        for line in lines {
            var total =
                byIssuer[line.issuer] ?? Line(month: "all", issuer: line.issuer, currency: line.currency)
            total.add(line)
            byIssuer[line.issuer] = total
        }
        return byIssuer.keys.sorted().map { byIssuer[$0]! }
    }
}
