/// Referrals in the engine: the link an enrolment with a code makes, the bonus the referred
/// member's first qualifying earn pays both members, and its clawback when that earn is
/// reversed in full in time. `docs/ledger.md` ("Referrals") states every rule.
extension BatchBuilder {
    /// Links new member `number` to the member whose code is `code`, or refuses the record.
    func planReferralLink(
        _ effect: inout Effect,
        member number: MemberNumber,
        code: ReferralCode,
        partner: Partner
    )
        throws
    {
        guard let programme = network.referrals else {
            throw CoalitionError(.referralsNotOffered, "the network has no referral programme")
        }
        let time = effect.occurredAt
        let referrer = try programme.member(of: code)
        guard referrer != number else {
            throw CoalitionError(.selfReferral, "member \(number) cannot enrol with their own referral code")
        }
        guard let account = member(referrer), account.enrolledAt <= time else {
            throw CoalitionError(.unknownReferralCode, "referral code \(code) is no member's")
        }
        guard !account.isClosed else {
            throw CoalitionError(.memberClosed, "the member whose referral code \(code) is has closed their account")
        }
        if let limit = programme.perReferrerPerYear,
            ledger.state.referrals.referred(by: referrer, inYearTo: time) >= limit
        {
            throw CoalitionError(
                .referralLimit,
                "the member whose referral code \(code) is has referred \(limit) members in the last 365 days already"
            )
        }
        effect.referral = Referral(member: number, referrer: referrer, linkedAt: time, partner: partner.id)
        effect.detail = PostingDetail.enrolment(referrer: referrer)
    }

    /// Pays the referral bonus if `earned` points, earned by `number` at `partner`, are the
    /// referred member's first qualifying earn: a bonus lot to each member, issued by the
    /// earning partner or the coalition as the terms in force say. The referred member's lot
    /// joins `change`; the referrer is planned on a copy.
    func planReferralBonus(
        _ effect: inout Effect,
        _ change: inout InPlaceChange,
        partner: Partner,
        member number: MemberNumber,
        earned: Int64
    ) throws -> ReferralBonus? {
        let time = effect.occurredAt
        guard let programme = network.referrals, var link = ledger.state.referrals.links[number], link.isPending,
            let terms = programme.terms.value(at: time), earned >= terms.minimumEarnPoints,
            terms.withinDays.map({ time <= link.linkedAt.adding(days: $0) }) ?? true
        else { return nil }
        let issuer = terms.funding == .coalition ? PartnerID.coalition : partner.id
        let expiresAt = time.adding(days: network.pointsLifetimeDays)
        var bonus = ReferralBonus(
            referrer: link.referrer,
            issuer: issuer,
            referredPoints: 0,
            referredLot: 0,
            referrerPoints: 0,
            referrerLot: 0
        )
        if terms.referredPoints > 0 {
            let lot = Lot(
                id: nextLotID(),
                member: number,
                issuer: issuer,
                points: terms.referredPoints,
                earnedAt: time,
                expiresAt: expiresAt,
                isBonus: true
            )
            change.referralLot = lot
            effect.changed(lot)
            effect.leg(member: number, lot.points)
            effect.leg(booked: book.issuer(issuer), -lot.points)
            effect.points += lot.points
            bonus.referredPoints = lot.points
            bonus.referredLot = lot.id
        }
        // A referrer who closed their account since is not paid; the referred member is.
        if terms.referrerPoints > 0, var referrer = member(link.referrer), !referrer.isClosed {
            let lot = Lot(
                id: nextLotID(),
                member: link.referrer,
                issuer: issuer,
                points: terms.referrerPoints,
                earnedAt: time,
                expiresAt: expiresAt,
                isBonus: true
            )
            referrer.insert(lot)
            effect.changed(lot)
            effect.leg(member: link.referrer, lot.points)
            effect.leg(booked: book.issuer(issuer), -lot.points)
            // The new points repay a debt the referrer owes first, like any points received.
            try settleDebts(&referrer, &effect, at: time)
            effect.members[link.referrer] = referrer
            effect.counterparty = link.referrer
            bonus.referrerPoints = lot.points
            bonus.referrerLot = lot.id
        }
        // The posting this earn becomes: the next after the chain's end.
        link.bonusSeq = chain.lastSeq + 1
        effect.referral = link
        return bonus
    }

    /// Takes back the referral bonus the earn at posting `seq` (made at `earnedAt`) paid, when
    /// the earn is now reversed in full within the clawback window: from each bonus lot what
    /// it still holds alive, never more (what a member spent of it is not charged back).
    /// Gives the `;refback=<issuer>:<referred points>:<referrer points>` detail.
    func planReferralClawback(
        _ effect: inout Effect,
        _ account: inout MemberAccount,
        bonus: ReferralBonus,
        seq: Int64,
        earnedAt: Timestamp
    ) throws -> String {
        let time = effect.occurredAt
        guard let programme = network.referrals, time <= earnedAt.adding(days: programme.clawbackDays),
            var link = ledger.state.referrals.links[account.number], link.bonusSeq == seq, !link.isReversed
        else { return "" }
        func takeBack(_ lotID: Int64, from account: inout MemberAccount) -> Int64 {
            guard lotID != 0, let index = account.lots.firstIndex(where: { $0.id == lotID }),
                account.lots[index].expiresAt > time
            else { return 0 }
            let taken = account.lots[index].points
            account.lots[index].points = 0
            effect.changed(account.lots[index])
            account.lots.remove(at: index)
            effect.leg(member: account.number, -taken)
            effect.leg(booked: book.issuer(bonus.issuer), taken)
            return taken
        }
        let referredBack = takeBack(bonus.referredLot, from: &account)
        var referrerBack: Int64 = 0
        if bonus.referrerLot != 0, var referrer = member(bonus.referrer) {
            referrerBack = takeBack(bonus.referrerLot, from: &referrer)
            if referrerBack > 0 {
                effect.members[bonus.referrer] = referrer
                effect.counterparty = bonus.referrer
            }
        }
        link.isReversed = true
        effect.referral = link
        return PostingDetail.referralBack(issuer: bonus.issuer, referred: referredBack, referrer: referrerBack)
    }
}
