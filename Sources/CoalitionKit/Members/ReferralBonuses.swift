/// The referral bonuses a member was paid, for `member show` and the pages that name them:
/// as the referred member (for enrolling with a code) and as the referrer (for each member
/// who enrolled with theirs), each with its lot, issuer, points and whether it was taken back.
package struct MemberReferralBonus: Sendable, Hashable {
    package enum Role: String, Sendable {
        /// The member enrolled with another member's code.
        case referred
        /// Another member enrolled with this member's code.
        case referrer
    }

    package let role: Role
    /// The other member: the referrer for `referred`, the member referred for `referrer`.
    package let otherMember: MemberNumber
    package let issuer: PartnerID
    package let points: Int64
    /// The bonus lot (0: none was made).
    package let lot: Int64
    /// The qualifying earn's time.
    package let paidAt: Timestamp
    /// Whether a clawback took the bonus back.
    package let isTakenBack: Bool
}

extension Ledger {
    /// The referral bonuses paid to member `number`, oldest first, read from the postings of
    /// the qualifying earns the referral links name.
    package func referralBonuses(of number: MemberNumber) throws -> [MemberReferralBonus] {
        var bonuses: [MemberReferralBonus] = []
        for link in state.referrals.links.values where link.member == number || link.referrer == number {
            guard let seq = link.bonusSeq, let posting = try store.posting(seq: seq),
                let bonus = PostingDetail(posting.detail).referralBonus
            else { continue }
            let isReferred = link.member == number
            let points = isReferred ? bonus.referredPoints : bonus.referrerPoints
            guard points > 0 else { continue }
            bonuses.append(
                MemberReferralBonus(
                    role: isReferred ? .referred : .referrer,
                    otherMember: isReferred ? link.referrer : link.member,
                    issuer: bonus.issuer,
                    points: points,
                    lot: isReferred ? bonus.referredLot : bonus.referrerLot,
                    paidAt: posting.occurredAt,
                    isTakenBack: link.isReversed
                )
            )
        }
        return bonuses.sorted { ($0.paidAt, $0.lot) < ($1.paidAt, $1.lot) }
    }
}
