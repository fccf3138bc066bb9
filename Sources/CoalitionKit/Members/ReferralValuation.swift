/// What referral bonus points cost their funding issuer in money: a partner's points at its
/// own redemption value in its settlement currency, the coalition's at the value the
/// network's configuration gives them (`referrals.coalitionValue`). `docs/ledger.md`,
/// "Referrals", states the rule.

extension Network {
    /// The currency `issuer`'s points are valued in: a partner's settlement currency, or for
    /// `COALITION` the currency of `referrals.coalitionValue` (nil: none configured, or no
    /// such issuer).
    package func pointCurrency(of issuer: PartnerID) -> Currency? {
        if issuer == .coalition { return referrals?.coalitionValue?.currency }
        return try? partner(issuer).settlementCurrency
    }

    /// The value of one point of `issuer` at `time`, in minor units of
    /// `pointCurrency(of:)`: a partner's redemption value, or the coalition's configured value
    /// (nil: none in force at `time`).
    package func pointValue(of issuer: PartnerID, at time: Timestamp) -> Rate? {
        if issuer == .coalition {
            guard let value = referrals?.coalitionValue, let rate = value.values.value(at: time) else { return nil }
            return try? rate.scaled(by: value.currency.minorUnitsPerMajor)
        }
        return try? partner(issuer).redemptionValue(at: time)
    }

    /// `points` of `issuer` valued at `time` in its currency, rounded half to even (nil: the
    /// issuer's points have no value in force then).
    package func value(of points: Int64, issuedBy issuer: PartnerID, at time: Timestamp) -> Money? {
        guard let currency = pointCurrency(of: issuer), let rate = pointValue(of: issuer, at: time),
            let minor = try? Conversion.value(of: points, at: rate)
        else { return nil }
        return Money(minor, currency)
    }
}
