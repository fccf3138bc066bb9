/// The programme judged as loyalty programmes are: points issued, redeemed and expired per
/// partner per month, redemption and breakage rates, active members, the tier mix and what
/// the points issued cost their issuers. Read from the journal in one pass.
package struct ProgrammePerformance: Sendable {
    /// One partner's figures in one calendar month (UTC).
    package struct Month: Sendable, Hashable {
        package let month: String
        package let partner: PartnerID
        /// Points earned with the partner as issuer, less earns reversed.
        package var issued: Int64 = 0
        /// Points redeemed at the partner, less redemptions reversed.
        package var redeemed: Int64 = 0
        /// Points of the partner's issue that expired unused (breakage).
        package var expired: Int64 = 0
    }

    package struct PartnerTotal: Sendable {
        package let partner: PartnerID
        package let issued: Int64
        package let redeemed: Int64
        package let expired: Int64
        /// Redeemed and expired as thousandths of issued (nil when nothing was issued).
        package let redemptionPerMille: Int64?
        package let breakagePerMille: Int64?
        /// The points issued at the issuer's redemption value now, in its settlement
        /// currency's minor units: what the issuer owes for them if all were redeemed.
        package let cost: Money?
    }

    package let asOf: Timestamp
    /// By month, then partner.
    package let months: [Month]
    package let partners: [PartnerTotal]
    /// Members with an earn or a redemption in the 365 days up to `asOf`.
    package let activeMembers: Int
    package let members: Int
    /// Members per tier, in the network's tier order.
    package let tierMix: [(tier: String, members: Int)]
    /// Referral bonuses per funding issuer, all months together (`ReferralReport.totals`):
    /// empty when the network never ran a referral programme.
    package let referrals: [ReferralReport.Line]

    /// What the figures are made from, kept between views so each view reads only the
    /// postings since the last one: the months so far, each member's latest earn or
    /// redemption, and the last posting read.
    package struct Tally: Sendable {
        var months: [String: [PartnerID: Month]] = [:]
        var lastActivity: [MemberNumber: Timestamp] = [:]
        /// The referral figures, read in the same pass.
        package private(set) var referrals = ReferralReport.Tally()
        package private(set) var throughSeq: Int64 = 0

        package init() {}

        /// Reads the postings after `throughSeq` up to the journal's last.
        package mutating func advance(_ ledger: Ledger) throws {
            let last = ledger.state.lastSeq
            guard last > throughSeq else { return }
            let network = ledger.network
            try ledger.store.forEachPosting(in: (throughSeq + 1)...last) { posting in
                add(posting)
                referrals.add(posting, network: network)
            }
            throughSeq = last
            referrals.throughSeq = last
        }

        /// The referred member's referral bonus in an earn's points.
        func referredBonus(_ posting: Posting) -> Int64 {
            PostingDetail(posting.detail).referralBonus?.referredPoints ?? 0
        }

        mutating func add(_ posting: Posting) {
            func change(_ partner: PartnerID, _ body: (inout Month) -> Void) {
                let month = String(posting.occurredAt.description.prefix(7))
                var line = months[month]?[partner] ?? Month(month: month, partner: partner)
                body(&line)
                months[month, default: [:]][partner] = line
            }
            switch posting.kind {
            case .earn, .redeem:
                if let member = posting.member, (lastActivity[member] ?? Timestamp(seconds: .min)) < posting.occurredAt
                {
                    lastActivity[member] = posting.occurredAt
                }
                guard let partner = posting.partner else { return }
                // `points` is the member's signed change: plus for an earn, minus for a redemption.
                // The referred member's referral bonus is in it but is the funding issuer's
                // (`referrals`): the partner issued the rest.
                if posting.kind == .earn {
                    let bonus = posting.detail.contains("refbonus") ? referredBonus(posting) : 0
                    change(partner) { $0.issued += posting.points - bonus }
                } else {
                    change(partner) { $0.redeemed -= posting.points }
                }
            case .reverseEarn:
                let back =
                    posting.detail.contains("refback") ? PostingDetail(posting.detail).referralBack?.referred : nil
                if let partner = posting.partner { change(partner) { $0.issued += posting.points + (back ?? 0) } }
            case .reverseRedeem:
                if let partner = posting.partner { change(partner) { $0.redeemed -= posting.points } }
            case .expire:
                for leg in posting.legs where leg.unit == Account.points && leg.account.hasPrefix("breakage:") {
                    guard let issuer = try? PartnerID(String(leg.account.dropFirst("breakage:".count))) else {
                        continue
                    }
                    change(issuer) { $0.expired += abs(leg.amount) }
                }
            default:
                return
            }
        }
    }

    /// The figures from the whole journal.
    package init(ledger: Ledger, asOf: Timestamp) throws {
        var tally = Tally()
        try tally.advance(ledger)
        self.init(tally: tally, ledger: ledger, asOf: asOf)
    }

    /// The figures from `tally`, advanced to the journal's last posting by the caller.
    package init(tally: Tally, ledger: Ledger, asOf: Timestamp) {
        self.asOf = asOf
        let months = tally.months
        let since = asOf.adding(seconds: -365 * Timestamp.secondsPerDay)
        let sorted = months.keys.sorted().flatMap { month in
            months[month]!.keys.sorted().map { months[month]![$0]! }
        }
        self.months = sorted
        partners = ledger.network.sortedPartners.map { partner in
            let lines = sorted.filter { $0.partner == partner.id }
            let issued = lines.reduce(0) { $0 + $1.issued }
            let redeemed = lines.reduce(0) { $0 + $1.redeemed }
            let expired = lines.reduce(0) { $0 + $1.expired }
            let cost = (try? partner.redemptionValue(at: asOf)).flatMap { rate in
                (try? Conversion.value(of: issued, at: rate)).map { Money($0, partner.settlementCurrency) }
            }
            return PartnerTotal(
                partner: partner.id,
                issued: issued,
                redeemed: redeemed,
                expired: expired,
                redemptionPerMille: issued > 0 ? Int64(Int128(redeemed) * 1000 / Int128(issued)) : nil,
                breakagePerMille: issued > 0 ? Int64(Int128(expired) * 1000 / Int128(issued)) : nil,
                cost: cost
            )
        }
        activeMembers = tally.lastActivity.values.filter { $0 >= since && $0 <= asOf }.count
        members = ledger.state.members.count
        var counts = Array(repeating: 0, count: ledger.network.tiers.count)
        for account in ledger.state.members.values where counts.indices.contains(account.tier) {
            counts[account.tier] += 1
        }
        tierMix = zip(ledger.network.tiers, counts).map { ($0.name, $1) }
        referrals = ReferralReport(tally: tally.referrals).totals
    }

    /// A thousandths figure as a percentage with one decimal: 125 is `12.5 %`.
    package static func percent(_ perMille: Int64?) -> String {
        guard let perMille else { return "–" }
        return "\(perMille / 10).\(perMille % 10) %"
    }
}
