/// The referral programme's figures per calendar month (UTC) and funding issuer, from the
/// journal: members linked by a code, bonuses paid and their points, points taken back by
/// clawbacks, and the net cost in points, which the funding issuer carries as a liability
/// like any other points until they are redeemed (then cleared) or expire (breakage).
public struct ReferralReport: Sendable {
    public struct Line: Sendable, Hashable {
        /// `YYYY-MM`.
        public let month: String
        /// The issuer that funds the bonuses (a partner, or `COALITION`); for links, which are
        /// made before anyone funds anything, the partner whose record enrolled the member.
        public let issuer: PartnerID
        public var referrals = 0
        public var bonusesPaid = 0
        public var pointsPaid: Int64 = 0
        public var pointsTakenBack: Int64 = 0
        public var bonusesTakenBack = 0

        /// What the month's bonuses cost the issuer, in points.
        public var netPoints: Int64 { pointsPaid - pointsTakenBack }
    }

    public let lines: [Line]

    public init(ledger: Ledger) throws {
        var lines: [String: Line] = [:]
        func update(_ month: String, _ issuer: PartnerID, _ body: (inout Line) -> Void) {
            let key = month + "|" + issuer.rawValue
            var line = lines[key] ?? Line(month: month, issuer: issuer)
            body(&line)
            lines[key] = line
        }
        try ledger.store.forEachPosting { posting in
            guard posting.kind == .enroll || posting.kind == .earn || posting.kind == .reverseEarn,
                posting.detail.contains("ref")
            else { return }
            let detail = PostingDetail(posting.detail)
            let month = String(posting.occurredAt.description.prefix(7))
            switch posting.kind {
            case .enroll:
                if detail.referrer != nil, let partner = posting.partner {
                    update(month, partner) { $0.referrals += 1 }
                }
            case .earn:
                if let bonus = detail.referralBonus {
                    update(month, bonus.issuer) {
                        $0.bonusesPaid += 1
                        $0.pointsPaid += bonus.referredPoints + bonus.referrerPoints
                    }
                }
            default:
                if let back = detail.referralBack {
                    update(month, back.issuer) {
                        $0.bonusesTakenBack += 1
                        $0.pointsTakenBack += back.referred + back.referrer
                    }
                }
            }
        }
        self.lines = lines.values.sorted { ($0.month, $0.issuer) < ($1.month, $1.issuer) }
    }
}
