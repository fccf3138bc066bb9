/// The programme judged as loyalty programmes are: points issued, redeemed and expired per
/// partner per month, redemption and breakage rates, active members, the tier mix and what
/// the points issued cost their issuers. Read from the journal in one pass.
public struct ProgrammePerformance: Sendable {
    /// One partner's figures in one calendar month (UTC).
    public struct Month: Sendable, Hashable {
        public let month: String
        public let partner: PartnerID
        /// Points earned with the partner as issuer, less earns reversed.
        public var issued: Int64 = 0
        /// Points redeemed at the partner, less redemptions reversed.
        public var redeemed: Int64 = 0
        /// Points of the partner's issue that expired unused (breakage).
        public var expired: Int64 = 0
    }

    public struct PartnerTotal: Sendable {
        public let partner: PartnerID
        public let issued: Int64
        public let redeemed: Int64
        public let expired: Int64
        /// Redeemed and expired as thousandths of issued (nil when nothing was issued).
        public let redemptionPerMille: Int64?
        public let breakagePerMille: Int64?
        /// The points issued at the issuer's redemption value now, in its settlement
        /// currency's minor units: what the issuer owes for them if all were redeemed.
        public let cost: Money?
    }

    public let asOf: Timestamp
    /// By month, then partner.
    public let months: [Month]
    public let partners: [PartnerTotal]
    /// Members with an earn or a redemption in the 365 days up to `asOf`.
    public let activeMembers: Int
    public let members: Int
    /// Members per tier, in the network's tier order.
    public let tierMix: [(tier: String, members: Int)]

    public init(ledger: Ledger, asOf: Timestamp) throws {
        self.asOf = asOf
        var months: [String: [PartnerID: Month]] = [:]
        var active: Set<MemberNumber> = []
        let since = asOf.adding(seconds: -365 * Timestamp.secondsPerDay)
        func add(_ posting: Posting, _ partner: PartnerID, _ change: (inout Month) -> Void) {
            let month = String(posting.occurredAt.description.prefix(7))
            var line = months[month]?[partner] ?? Month(month: month, partner: partner)
            change(&line)
            months[month, default: [:]][partner] = line
        }
        try ledger.store.forEachPosting { posting in
            switch posting.kind {
            case .earn, .redeem:
                if let member = posting.member, posting.occurredAt >= since, posting.occurredAt <= asOf {
                    active.insert(member)
                }
                guard let partner = posting.partner else { return }
                if posting.kind == .earn {
                    add(posting, partner) { $0.issued += posting.points }
                } else {
                    add(posting, partner) { $0.redeemed += posting.points }
                }
            case .reverseEarn:
                if let partner = posting.partner { add(posting, partner) { $0.issued -= posting.points } }
            case .reverseRedeem:
                if let partner = posting.partner { add(posting, partner) { $0.redeemed -= posting.points } }
            case .expire:
                for leg in posting.legs where leg.unit == Account.points && leg.account.hasPrefix("breakage:") {
                    guard let issuer = try? PartnerID(String(leg.account.dropFirst("breakage:".count))) else {
                        continue
                    }
                    add(posting, issuer) { $0.expired += abs(leg.amount) }
                }
            default:
                return
            }
        }
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
        activeMembers = active.count
        members = ledger.state.members.count
        var counts = Array(repeating: 0, count: ledger.network.tiers.count)
        for account in ledger.state.members.values where counts.indices.contains(account.tier) {
            counts[account.tier] += 1
        }
        tierMix = zip(ledger.network.tiers, counts).map { ($0.name, $1) }
    }

    /// A thousandths figure as a percentage with one decimal: 125 is `12.5 %`.
    public static func percent(_ perMille: Int64?) -> String {
        guard let perMille else { return "–" }
        return "\(perMille / 10).\(perMille % 10) %"
    }
}
