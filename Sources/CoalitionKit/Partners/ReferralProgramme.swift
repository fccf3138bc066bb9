import Foundation

/// Who issues (and so funds) a referral bonus.
package enum ReferralFunding: String, Sendable, Hashable {
    /// The partner where the referred member's first qualifying earn happened.
    case earningPartner = "earning-partner"
    /// The coalition itself, from its marketing account: the issuer `COALITION`.
    case coalition
}

/// The bonus rules in force from one time on: how much each side gets, what makes an earn
/// qualify, and who funds it.
package struct ReferralTerms: Sendable, Hashable {
    /// Points to the member whose code was given.
    package let referrerPoints: Int64
    /// Points to the member who enrolled with it.
    package let referredPoints: Int64
    /// The fewest points (before any tier bonus) an earn must convert to, to qualify.
    package let minimumEarnPoints: Int64
    /// An earn qualifies only within this many days of the enrolment (nil: any time).
    package let withinDays: Int64?
    package let funding: ReferralFunding

    package init(
        referrerPoints: Int64,
        referredPoints: Int64,
        minimumEarnPoints: Int64,
        withinDays: Int64?,
        funding: ReferralFunding
    ) {
        self.referrerPoints = referrerPoints
        self.referredPoints = referredPoints
        self.minimumEarnPoints = minimumEarnPoints
        self.withinDays = withinDays
        self.funding = funding
    }
}

/// A network's referral programme, as its configuration (`network.json`, `referrals`) says.
package struct ReferralProgramme: Sendable {
    /// The key codes are derived under: never shown, never logged.
    let codeKey: [UInt8]
    /// The bonus terms by the time they take effect: an earn is judged by the terms in force
    /// at its `occurred` time.
    package let terms: EffectiveSchedule<ReferralTerms>
    /// The most members one member may refer in any 365 days (nil: no limit).
    package let perReferrerPerYear: Int64?
    /// A full reversal of the qualifying earn within this many days of it takes the bonus back.
    package let clawbackDays: Int64
    /// What the coalition's own points (issuer `COALITION`) are worth, for its liability and
    /// the cost of the bonuses it funds (nil: not valued). `docs/ledger.md`, "Referrals".
    package let coalitionValue: CoalitionPointValue?

    package init(
        codeKey: [UInt8],
        terms: EffectiveSchedule<ReferralTerms>,
        perReferrerPerYear: Int64?,
        clawbackDays: Int64,
        coalitionValue: CoalitionPointValue? = nil
    ) {
        self.codeKey = codeKey
        self.terms = terms
        self.perReferrerPerYear = perReferrerPerYear
        self.clawbackDays = clawbackDays
        self.coalitionValue = coalitionValue
    }

    /// Member `number`'s referral code.
    package func code(for number: MemberNumber) throws -> ReferralCode {
        try ReferralCode(member: number, key: codeKey)
    }

    /// The member whose code `code` is; `UNKNOWN_REFERRAL_CODE` if it is nobody's.
    package func member(of code: ReferralCode) throws -> MemberNumber {
        try code.member(key: codeKey)
    }
}

/// The coalition's value per point of its own issue: a currency and an effective-dated value
/// per point in its major units, as a partner's `redemptionValues` are.
package struct CoalitionPointValue: Sendable, Hashable {
    package let currency: Currency
    /// Value per point in major units of `currency`, by the time it takes effect.
    package let values: EffectiveSchedule<Rate>

    package init(currency: Currency, values: EffectiveSchedule<Rate>) {
        self.currency = currency
        self.values = values
    }
}
