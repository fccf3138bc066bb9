/// Points a member holds from one issuer, earned at one time and expiring at another.
///
/// Lots are the provenance that makes clearing possible: when a member redeems at partner R,
/// the lots consumed say which issuers owe R. A lot with negative points is a *debt*: what a
/// reversal took back beyond what the member still held, repaid first by later earnings.
package struct Lot: Hashable, Sendable {
    package let id: Int64
    package var member: MemberNumber
    package let issuer: PartnerID
    package var points: Int64
    package let earnedAt: Timestamp
    package let expiresAt: Timestamp
    /// A tier bonus lot: funded by `issuer` like any other, but not qualifying for tiers.
    package let isBonus: Bool

    package init(
        id: Int64,
        member: MemberNumber,
        issuer: PartnerID,
        points: Int64,
        earnedAt: Timestamp,
        expiresAt: Timestamp,
        isBonus: Bool
    ) {
        self.id = id
        self.member = member
        self.issuer = issuer
        self.points = points
        self.earnedAt = earnedAt
        self.expiresAt = expiresAt
        self.isBonus = isBonus
    }

    package var isDebt: Bool { points < 0 }

    /// Debts never expire.
    package static let never = Timestamp(seconds: 253_402_300_799)  // 9999-12-31T23:59:59Z

    /// The order lots are consumed in: soonest-expiring first, then oldest.
    static func consumedBefore(_ a: Lot, _ b: Lot) -> Bool {
        a.expiresAt != b.expiresAt ? a.expiresAt < b.expiresAt : a.id < b.id
    }
}
