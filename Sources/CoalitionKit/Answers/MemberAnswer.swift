/// A member as JSON (`member show --json`): balance as of a time, lots (debts too), tier
/// and its history, the obligations between partners the member's activity caused.
package struct MemberAnswer: Encodable, Sendable {
    package struct NextTier: Encodable, Sendable {
        let name: String
        let missing: Int64
    }

    package struct LotLine: Encodable, Sendable {
        let id: Int64
        let issuer: String
        let points: Int64
        let earnedAt: String
        /// `never` for a debt.
        let expiresAt: String
        let bonus: Bool
        let expired: Bool
    }

    let member: String
    let enrolledAt: String
    /// The partner that enrolled the member; empty when none did.
    let enrolledBy: String
    let closed: Bool
    let balance: Int64
    let expiredPending: Int64
    let tier: String
    let tierSince: String
    let qualifyingPoints: Int64
    let tierWindowDays: Int64
    /// `null` at the top tier.
    let nextTier: Nullable<NextTier>
    let tierHistory: [TierChangeAnswer]
    let lots: [LotLine]
    let obligations: [ObligationAnswer]
    /// The member's referral code, where the network runs a referral programme (absent
    /// otherwise).
    let referralCode: String?
    /// Who referred the member, where the network runs a referral programme (absent
    /// otherwise; `null` when no one did).
    let referredBy: Nullable<String>?
    /// The referral bonuses the member was paid (as referrer or referred), where the network
    /// runs a referral programme (absent otherwise).
    let referralBonuses: [ReferralBonusLine]?

    package struct ReferralBonusLine: Encodable, Sendable {
        let role: String
        let member: String
        let issuer: String
        let points: Int64
        let lot: Int64
        let paidAt: String
        let takenBack: Bool
    }

    package init(
        account: MemberAccount,
        network: Network,
        at time: Timestamp,
        tierHistory: [TierChange],
        obligations: [Obligation],
        referral: (code: ReferralCode, referredBy: MemberNumber?)?,
        referralBonuses: [MemberReferralBonus] = []
    ) {
        member = account.number.description
        enrolledAt = account.enrolledAt.description
        enrolledBy = account.enrolledBy?.rawValue ?? ""
        closed = account.isClosed
        balance = account.balance(at: time)
        expiredPending = account.expiredPending(at: time)
        tier = network.tiers[account.tier].name
        tierSince = account.tierSince.description
        qualifyingPoints = account.qualifyingPoints(at: time, windowDays: network.tierWindowDays)
        tierWindowDays = network.tierWindowDays
        nextTier = Nullable(
            network.nextTier(for: account, at: time).map { NextTier(name: $0.tier.name, missing: $0.missing) }
        )
        self.tierHistory = tierHistory.map { TierChangeAnswer($0, naming: .time) }
        lots = (account.lots + account.debts).map { lot in
            LotLine(
                id: lot.id,
                issuer: lot.issuer.rawValue,
                points: lot.points,
                earnedAt: lot.earnedAt.description,
                expiresAt: lot.isDebt ? "never" : lot.expiresAt.description,
                bonus: lot.isBonus,
                expired: !lot.isDebt && lot.expiresAt <= time
            )
        }
        self.obligations = obligations.map(ObligationAnswer.init)
        referralCode = referral?.code.description
        referredBy = referral.map { Nullable($0.referredBy?.description) }
        self.referralBonuses = referral.map { _ in
            referralBonuses.map { bonus in
                ReferralBonusLine(
                    role: bonus.role.rawValue,
                    member: bonus.otherMember.description,
                    issuer: bonus.issuer.rawValue,
                    points: bonus.points,
                    lot: bonus.lot,
                    paidAt: bonus.paidAt.description,
                    takenBack: bonus.isTakenBack
                )
            }
        }
    }
}

/// An obligation between partners as JSON: who pays whom, in minor units and as a decimal,
/// for which record, and the cycle that cleared it (`null` while none has).
package struct ObligationAnswer: Encodable, Sendable {
    let id: Int64
    let record: String
    let occurredAt: String
    let debtor: String
    let creditor: String
    let currency: String
    let amountMinor: Int64
    let amount: String
    let points: Int64
    let cycle: Nullable<Int64>

    package init(_ o: Obligation) {
        id = o.id
        record = o.source.description
        occurredAt = o.occurredAt.description
        debtor = o.debtor.rawValue
        creditor = o.creditor.rawValue
        currency = o.currency.code
        amountMinor = o.amount
        amount = Money.decimal(o.amount, exponent: o.currency.minorUnitExponent, grouped: false)
        points = o.points
        cycle = Nullable(o.cycle)
    }
}
