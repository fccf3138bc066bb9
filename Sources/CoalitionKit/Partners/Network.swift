import Foundation

/// A status tier: members whose qualifying points over the trailing window reach
/// `qualifyingPoints` hold it, and earn `bonusPercent` more on every earn.
package struct Tier: Sendable, Hashable {
    package let name: String
    package let qualifyingPoints: Int64
    package let bonusPercent: Int64

    package init(name: String, qualifyingPoints: Int64, bonusPercent: Int64) {
        self.name = name
        self.qualifyingPoints = qualifyingPoints
        self.bonusPercent = bonusPercent
    }
}

/// What happens at a tier review to a member whose qualifying points fell.
package enum DowngradePolicy: String, Sendable {
    /// At most one tier down per review.
    case oneTier = "one-tier"
    /// Straight to the tier the qualifying points support.
    case toQualified = "to-qualified"
}

/// Limits on member-to-member transfers, as real programmes publish them.
package struct TransferLimits: Sendable, Hashable {
    package let minimum: Int64
    package let step: Int64
    package let maximumPerTransfer: Int64
    package let sentPerYear: Int64?
    package let receivedPerYear: Int64?
    package let transfersPerDay: Int64?
    package let transfersPerMonth: Int64?
    package let transfersPerYear: Int64?
    package let feePoints: Int64

    package init(
        minimum: Int64,
        step: Int64,
        maximumPerTransfer: Int64,
        sentPerYear: Int64?,
        receivedPerYear: Int64?,
        transfersPerDay: Int64?,
        transfersPerMonth: Int64?,
        transfersPerYear: Int64?,
        feePoints: Int64
    ) {
        self.minimum = minimum
        self.step = step
        self.maximumPerTransfer = maximumPerTransfer
        self.sentPerYear = sentPerYear
        self.receivedPerYear = receivedPerYear
        self.transfersPerDay = transfersPerDay
        self.transfersPerMonth = transfersPerMonth
        self.transfersPerYear = transfersPerYear
        self.feePoints = feePoints
    }
}

/// Clearing settings of the network.
package struct ClearingSettings: Sendable, Hashable {
    /// Fee on what a partner receives in a cycle, in basis points (1/100 of a percent).
    package let feeBasisPoints: Int64
    /// How far in the past a settlement file's created-at may be.
    package let acceptedPastSeconds: Int64
    /// How far in the future a settlement file's created-at may be (clock skew).
    package let acceptedFutureSeconds: Int64

    package init(feeBasisPoints: Int64, acceptedPastSeconds: Int64, acceptedFutureSeconds: Int64) {
        self.feeBasisPoints = feeBasisPoints
        self.acceptedPastSeconds = acceptedPastSeconds
        self.acceptedFutureSeconds = acceptedFutureSeconds
    }
}

/// The whole coalition: its partners and the rules that hold for all of them.
package struct Network: Sendable {
    package let name: String
    /// How long an earned point lives, in days.
    package let pointsLifetimeDays: Int64
    /// The fixed offset from UTC in minutes of a network defined by one (older network
    /// files); 0 where the network names a zone (`timeZone`).
    package let utcOffsetMinutes: Int64
    /// The network's time zone: transfer limits per day, month and year count calendar
    /// periods in it. An IANA zone (`Europe/Amsterdam`) follows daylight saving; a network
    /// defined by a fixed offset has a zone of that offset.
    package let timeZone: TimeZone
    package let tiers: [Tier]
    package let tierWindowDays: Int64
    package let downgradePolicy: DowngradePolicy
    package let transferLimits: TransferLimits
    package let clearing: ClearingSettings
    package let partners: [PartnerID: Partner]
    /// The referral programme, if the network runs one.
    package let referrals: ReferralProgramme?
    /// `partners`, for `partner(_:)`: the engine asks for a record's partner at every record.
    private let byID: PartnerMap<Partner>

    package init(
        name: String,
        pointsLifetimeDays: Int64,
        utcOffsetMinutes: Int64,
        tiers: [Tier],
        tierWindowDays: Int64,
        downgradePolicy: DowngradePolicy,
        transferLimits: TransferLimits,
        clearing: ClearingSettings,
        partners: [Partner],
        timeZone: TimeZone? = nil,
        referrals: ReferralProgramme? = nil
    ) {
        self.referrals = referrals
        self.name = name
        self.pointsLifetimeDays = pointsLifetimeDays
        self.utcOffsetMinutes = utcOffsetMinutes
        self.timeZone = timeZone ?? TimeZone(secondsFromGMT: Int(utcOffsetMinutes) * 60) ?? TimeZone(identifier: "UTC")!
        self.tiers = tiers.sorted { $0.qualifyingPoints < $1.qualifyingPoints }
        self.tierWindowDays = tierWindowDays
        self.downgradePolicy = downgradePolicy
        self.transferLimits = transferLimits
        self.clearing = clearing
        self.partners = Dictionary(uniqueKeysWithValues: partners.map { ($0.id, $0) })
        byID = PartnerMap(partners.map { ($0.id, $0) })
    }

    /// The partner `id`, or `UNKNOWN_PARTNER`.
    package func partner(_ id: PartnerID) throws -> Partner {
        guard let partner = byID[id] else {
            throw CoalitionError(.unknownPartner, "no partner '\(id)' in the network")
        }
        return partner
    }

    package var sortedPartners: [Partner] { partners.values.sorted { $0.id < $1.id } }
}

extension Network {
    /// The index of the highest tier `points` qualify for.
    package func tierIndex(forQualifying points: Int64) -> Int {
        var index = 0
        for (i, tier) in tiers.enumerated() where tier.qualifyingPoints <= points { index = i }
        return index
    }

    /// What the member needs for the next tier at `time`: its name and the points missing;
    /// nil at the top.
    package func nextTier(for account: MemberAccount, at time: Timestamp) -> (tier: Tier, missing: Int64)? {
        guard account.tier + 1 < tiers.count else { return nil }
        let next = tiers[account.tier + 1]
        let have = account.qualifyingPoints(at: time, windowDays: tierWindowDays)
        return (next, max(0, next.qualifyingPoints - have))
    }
}
