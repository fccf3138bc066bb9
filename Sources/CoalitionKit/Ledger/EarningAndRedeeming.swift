/// Earning and redeeming: planning an earn (lots, bonus, qualifying points, an upgrade)
/// and a redemption (lots consumed soonest-expiring first, issuers paid, debts settled).
extension BatchBuilder {
    /// An earn: a lot (and a tier bonus lot) of the partner's points, qualifying points, and
    /// an upgrade when they reach a tier. Planned on the member as they stand and applied in
    /// place by `post`; only repaying a debt the member owes is planned on a copy.
    func planEarn(_ effect: inout Effect, partner: Partner, member number: MemberNumber, units: Int64) throws {
        try checkAmount(units)
        let time = effect.occurredAt
        let windowDays = network.tierWindowDays
        let ((tier, qualifying, owesDebt), held) = try withOpenMember(number) {
            ($0.tier, $0.qualifyingPoints(at: time, windowDays: windowDays), !$0.debts.isEmpty)
        }
        let rate = try partner.earnRate(at: time)
        let conversion = try Conversion.earn(units: units, rate: rate)
        effect.kind = .earn
        effect.member = number
        effect.units = units
        effect.points = conversion.points
        effect.unitLegs(book.accounts(of: partner), reported: -units, converted: conversion.convertedUnits)
        var change = InPlaceChange(member: number, at: held)
        if conversion.points > 0 {
            try planEarnedLots(
                &effect,
                &change,
                partner: partner,
                points: conversion.points,
                tierBefore: tier,
                qualifyingBefore: qualifying
            )
        }
        // The referred member's first qualifying earn pays the referral bonus (networks
        // without a referral programme never get past the first check).
        let referral =
            network.referrals == nil || conversion.points == 0
            ? nil : try planReferralBonus(&effect, &change, partner: partner, member: number, earned: conversion.points)
        // The detail in one access to the chain.
        chain.writeDetail { detail in
            PostingDetail.writeEarn(
                into: &detail,
                rate: rate,
                lot: change.newLot?.id,
                bonus: change.bonusLot.map { ($0.points, $0.id) },
                tierBefore: change.tier != nil ? tier : nil,
                referral: referral
            )
        }
        effect.detailIsPlanned = true
        if owesDebt && conversion.points > 0 {
            // The new points repay the debt first (its legs follow the earn's).
            var copy = try openMember(number)
            copy.apply(change, at: time)
            try settleDebts(&copy, &effect, at: time)
            effect.members[number] = copy
        } else {
            effect.inPlace = change
        }
    }

    /// The lots an earn of `points` makes (its own and the bonus of the tier held before it),
    /// its qualifying points, and the upgrade they reach, planned into `change`.
    private func planEarnedLots(
        _ effect: inout Effect,
        _ change: inout InPlaceChange,
        partner: Partner,
        points: Int64,
        tierBefore: Int,
        qualifyingBefore: Int64
    ) throws {
        let time = effect.occurredAt
        let lot = Lot(
            id: nextLotID(),
            member: change.member,
            issuer: partner.id,
            points: points,
            earnedAt: time,
            expiresAt: time.adding(days: network.pointsLifetimeDays),
            isBonus: false
        )
        change.newLot = lot
        effect.changed(lot)
        effect.leg(member: change.member, points)
        effect.leg(booked: book.issuer(partner.id), -points)
        // The tier held before this earn gives its bonus, funded by the earning partner.
        let bonusPercent = network.tiers.indices.contains(tierBefore) ? network.tiers[tierBefore].bonusPercent : 0
        let bonus = try Checked.narrow(Int128(points) * Int128(bonusPercent) / 100)
        if bonus > 0 {
            let bonusLot = Lot(
                id: nextLotID(),
                member: change.member,
                issuer: partner.id,
                points: bonus,
                earnedAt: time,
                expiresAt: lot.expiresAt,
                isBonus: true
            )
            change.bonusLot = bonusLot
            effect.changed(bonusLot)
            effect.leg(member: change.member, bonus)
            effect.leg(booked: book.issuer(partner.id), -bonus)
            effect.points += bonus
        }
        change.qualifying = points
        effect.qualifying.append((change.member, QualifyingDay.day(of: time)))
        // The earn's day is the last of the window, so its points join the window's sum.
        let window = qualifyingBefore + (network.tierWindowDays > 0 ? points : 0)
        let target = network.tierIndex(forQualifying: window)
        if target > tierBefore {
            change.tier = target
            effect.tierChanges.append(
                TierChange(
                    member: change.member,
                    at: time,
                    from: network.tiers[tierBefore].name,
                    to: network.tiers[target].name,
                    reason: "upgrade: \(window) qualifying points in \(network.tierWindowDays) days"
                )
            )
        }
    }

    func planRedeem(_ effect: inout Effect, partner: Partner, member number: MemberNumber, units: Int64) throws {
        try checkAmount(units)
        // Planned on the member as they stand, not on a copy: the lots consumed are changed
        // in place by `post`, once nothing can fail.
        let time = effect.occurredAt
        let ((consumption, rate, value, conversion), held) = try withOpenMember(number) { account in
            let rate = try partner.earnRate(at: time)
            let value = try partner.redemptionValue(at: time)
            let conversion = try Conversion.redeem(units: units, rate: rate)
            let available = account.available(at: time)
            guard available >= conversion.points else {
                throw CoalitionError(
                    .insufficientPoints,
                    "redeeming \(units) \(partner.unit.name) needs \(conversion.points) points; member \(number) has \(available)"
                )
            }
            return (Consumption(account.lots, conversion.points, at: time), rate, value, conversion)
        }
        effect.kind = .redeem
        effect.member = number
        effect.units = units
        effect.points = -conversion.points
        effect.unitLegs(book.accounts(of: partner), reported: units, converted: -conversion.convertedUnits)
        for (_, lot) in consumption.changes { effect.changed(lot) }
        effect.inPlace = InPlaceChange(member: number, at: held, consumed: consumption.changes)
        let parts = consumption.parts
        effect.leg(member: number, -conversion.points)
        var perIssuer: [(PartnerID, Int64)] = []
        for part in parts {
            effect.leg(booked: book.issuer(part.issuer), part.points)
            if let index = perIssuer.firstIndex(where: { $0.0 == part.issuer }) {
                perIssuer[index].1 += part.points
            } else {
                perIssuer.append((part.issuer, part.points))
            }
        }
        for (issuer, points) in perIssuer where issuer != partner.id {
            let amount = try value.apply(to: points, rounding: .halfEven).value
            effect.obligation(debtor: issuer, creditor: partner, amount: amount, points: points, book: &book)
        }
        chain.writeDetail { detail in
            PostingDetail.writeRedemption(into: &detail, rate: rate, value: value, parts: parts)
        }
        effect.detailIsPlanned = true
    }

    /// Takes `points` from the member's lots alive at `time`, soonest-expiring first.
    func consume(
        _ account: inout MemberAccount,
        _ points: Int64,
        at time: Timestamp,
        _ effect: inout Effect
    ) -> [ConsumedPart] {
        let plan = Consumption(account.lots, points, at: time)
        for (_, lot) in plan.changes { effect.changed(lot) }
        account.consume(plan.changes)
        return plan.parts
    }

    /// Points of other issuers spent to pay `beneficiary` back: each such issuer's
    /// liability ends, and it owes `beneficiary` their value.
    func payIssuer(
        _ beneficiary: Partner,
        from parts: [ConsumedPart],
        at time: Timestamp,
        _ effect: inout Effect
    ) throws {
        let value = try beneficiary.redemptionValue(at: time)
        for part in parts {
            effect.leg(booked: book.issuer(part.issuer), part.points)
            effect.leg(booked: book.issuer(beneficiary.id), -part.points)
        }
        var perIssuer: [(PartnerID, Int64)] = []
        for part in parts where part.issuer != beneficiary.id {
            if let index = perIssuer.firstIndex(where: { $0.0 == part.issuer }) {
                perIssuer[index].1 += part.points
            } else {
                perIssuer.append((part.issuer, part.points))
            }
        }
        for (issuer, points) in perIssuer {
            let amount = try value.apply(to: points, rounding: .halfEven).value
            effect.obligation(debtor: issuer, creditor: beneficiary, amount: amount, points: points, book: &book)
        }
    }

    /// Repays the member's debts from their lots, oldest debt first.
    func settleDebts(_ account: inout MemberAccount, _ effect: inout Effect, at time: Timestamp) throws {
        while let debt = account.debts.first {
            let take = min(-debt.points, account.available(at: time))
            guard take > 0 else { return }
            let parts = consume(&account, take, at: time, &effect)
            try payIssuer(try network.partner(debt.issuer), from: parts, at: time, &effect)
            account.debts[0].points += take
            effect.changed(account.debts[0])
            if account.debts[0].points == 0 { account.debts.removeFirst() }
        }
    }

    /// The sequence number of the last posting recorded.
    var lastSeqForResult: Int64 { chain.lastSeq }

    func nextLotID() -> Int64 {
        lastLotID += 1
        return lastLotID
    }
}
