import CoalitionKit

struct SessionAnswer: Encodable {
    let token: String
    let expiresAt: String

    enum CodingKeys: String, CodingKey {
        case token
        case expiresAt = "expires_at"
    }
}

/// What `GET /member/api/balance` answers: the signed-in member's points as they stand.
struct BalanceAnswer: Encodable, Sendable {
    struct LotLine: Encodable, Sendable {
        let issuer: String
        let points: Int64
        let expiresAt: String

        enum CodingKeys: String, CodingKey {
            case issuer, points
            case expiresAt = "expires_at"
        }
    }

    struct IssuerLine: Encodable, Sendable {
        let issuer: String
        let points: Int64
        let lots: [LotLine]
    }

    struct TierLine: Encodable, Sendable {
        let name: String
        let qualifyingPoints: Int64
        let next: String?
        let missing: Int64?

        enum CodingKeys: String, CodingKey {
            case name, next, missing
            case qualifyingPoints = "qualifying_points"
        }
    }

    let member: String
    let balance: Int64
    let available: Int64
    /// Lots not yet past their expiry, by issuer, soonest-expiring first.
    let issuers: [IssuerLine]
    /// Lots past their expiry that the next expiry run will turn into breakage.
    let expired: [LotLine]
    let owed: Int64
    let tier: TierLine
    /// The member's referral code, where the network runs a referral programme (absent
    /// otherwise).
    let referralCode: String?

    enum CodingKeys: String, CodingKey {
        case member, balance, available, issuers, expired, owed, tier
        case referralCode = "referral_code"
    }

    init(account: MemberAccount, network: Network, at: Timestamp) {
        referralCode = try? network.referrals?.code(for: account.number).description
        member = account.number.description
        balance = account.balance
        available = account.available(at: at)
        var byIssuer: [PartnerID: [Lot]] = [:]
        var past: [LotLine] = []
        for lot in account.lots.sorted(by: { ($0.expiresAt, $0.id) < ($1.expiresAt, $1.id) }) {
            if lot.expiresAt <= at {
                past.append(
                    LotLine(issuer: lot.issuer.description, points: lot.points, expiresAt: lot.expiresAt.description)
                )
            } else {
                byIssuer[lot.issuer, default: []].append(lot)
            }
        }
        issuers = byIssuer.keys.sorted().map { issuer in
            let lots = byIssuer[issuer]!
            return IssuerLine(
                issuer: issuer.description,
                points: lots.reduce(0) { $0 + $1.points },
                lots: lots.map {
                    LotLine(issuer: issuer.description, points: $0.points, expiresAt: $0.expiresAt.description)
                }
            )
        }
        expired = past
        owed = -account.debts.reduce(0) { $0 + $1.points }
        let next = network.nextTier(for: account, at: at)
        tier = TierLine(
            name: network.tiers[account.tier].name,
            qualifyingPoints: account.qualifyingPoints(at: at, windowDays: network.tierWindowDays),
            next: next?.tier.name,
            missing: next?.missing
        )
    }
}
