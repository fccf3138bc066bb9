/// Reversals: an earn or a redemption undone, exactly, with the lots, obligations and tier
/// change it caused.
extension BatchBuilder {
    func planReversal(_ effect: inout Effect, partner: Partner, original: String, units: Int64?) throws {
        var target = try reversalTarget(partner: partner, original: original, units: units)
        var account = try openMemberForReversal(target.member)
        effect.member = target.member
        effect.units = target.after - target.before
        effect.detail = PostingDetail.reversal(of: original)
        if target.entry.kind == .earn {
            try planEarnReversal(&effect, &account, partner: partner, target)
        } else {
            try planRedeemReversal(&effect, &account, partner: partner, target)
        }
        target.entry.reversedUnits = target.after
        effect.reversed = target.entry
        effect.members[target.member] = account
    }

    /// The record a reversal undoes, checked, with what the engine needs of it: its journal
    /// entry and posting, the rate it was booked at, and the units of it reversed before and
    /// after this reversal.
    struct ReversalTarget {
        var entry: RecordEntry
        let posting: Posting
        let detail: PostingDetail
        let rate: Rate
        let member: MemberNumber
        let original: String
        let before: Int64
        let after: Int64
    }

    /// Finds and checks the original of a reversal of `units` (all that is left when nil).
    func reversalTarget(partner: Partner, original: String, units: Int64?) throws -> ReversalTarget {
        let originalKey: RecordKey
        do {
            originalKey = try RecordKey(partner: partner.id, recordID: original)
        } catch let error as CoalitionError {
            // The fault is this record's `original` field: its place names this record, not that id.
            throw CoalitionError(error.code, error.message, at: Place(field: "original"))
        }
        guard let entry = try entry(for: originalKey) else {
            throw CoalitionError(.unknownOriginal, "no record \(original) of \(partner.id) to reverse")
        }
        guard entry.kind == .earn || entry.kind == .redeem else {
            throw CoalitionError(.notReversible, "record \(original) is a \(entry.kind) record and cannot be reversed")
        }
        let remaining = entry.units - entry.reversedUnits
        guard remaining > 0 else {
            throw CoalitionError(.alreadyReversed, "record \(original) is already reversed in full")
        }
        let requested = units ?? remaining
        try checkAmount(requested)
        guard requested <= remaining else {
            throw CoalitionError(
                .reversalExceedsOriginal,
                "reversing \(requested) of record \(original), which has only \(remaining) left to reverse"
            )
        }
        guard let posting = try posting(seq: entry.seq), let number = posting.member else {
            throw CoalitionError(.storeFailure, "the journal has no posting \(entry.seq) for record \(original)")
        }
        let detail = PostingDetail(posting.detail)
        guard let rate = detail.rate else {
            throw CoalitionError(.storeFailure, "posting \(entry.seq) has no rate in its detail")
        }
        return ReversalTarget(
            entry: entry,
            posting: posting,
            detail: detail,
            rate: rate,
            member: number,
            original: original,
            before: entry.reversedUnits,
            after: entry.reversedUnits + requested
        )
    }

    /// An earn undone, in part or in full: the points its reversed units earned (and their
    /// share of its bonus) taken back, a referral bonus it paid clawed back, its qualifying
    /// points and any upgrade it caused undone.
    func planEarnReversal(
        _ effect: inout Effect,
        _ account: inout MemberAccount,
        partner: Partner,
        _ target: ReversalTarget
    ) throws {
        let (entry, rate, detail, before, after) = (
            target.entry, target.rate, target.detail, target.before, target.after
        )
        let time = effect.occurredAt
        effect.kind = .reverseEarn
        // The member keeps what the units still standing earn, rounded down as an earn
        // is: never a point more. Each piece takes the difference, so the pieces add up
        // to the earn's points.
        let earned = try rate.apply(to: entry.units, rounding: .down).value
        let keptBefore = try rate.apply(to: entry.units - before, rounding: .down).value
        let keptAfter = try rate.apply(to: entry.units - after, rounding: .down).value
        let points = keptBefore - keptAfter
        let converted =
            try Rate.unitsFor(points: earned - keptAfter, rate: rate, rounding: .up)
            - Rate.unitsFor(points: earned - keptBefore, rate: rate, rounding: .up)
        effect.unitLegs(book.accounts(of: partner), reported: after - before, converted: -converted)
        // The bonus the earn gave goes back in proportion: the member keeps the bonus of
        // the units still standing, rounded down.
        let bonus = detail.bonus ?? 0
        let bonusBack =
            bonus == 0
            ? 0
            : try Checked.narrow(Int128(bonus) * Int128(entry.units - before) / Int128(entry.units))
                - Checked.narrow(Int128(bonus) * Int128(entry.units - after) / Int128(entry.units))
        // An earn that paid a referral bonus and is now reversed in full in time takes
        // the bonus back first, so the earn's own points are not taken from it.
        if after == entry.units, let referral = detail.referralBonus {
            effect.detail += try planReferralClawback(
                &effect,
                &account,
                bonus: referral,
                seq: entry.seq,
                earnedAt: target.posting.occurredAt
            )
        }
        var dead: Int64 = 0
        var split: [IssuerPoints] = []
        var debt: Int64 = 0
        for (lotID, taken) in [(detail.lot, points), (detail.bonusLot, bonusBack)] {
            try planPointsTakenBack(
                &effect,
                &account,
                partner: partner,
                lotID: lotID,
                points: taken,
                at: time,
                dead: &dead,
                split: &split,
                debt: &debt
            )
        }
        effect.detail += PostingDetail.split(split)
        // The debt the reversal left, owed to `partner`: the acknowledgement's `DEBT` line.
        effect.detail += PostingDetail.debt(debt)
        // The change to the member's live balance: points of the earn that already
        // expired are booked back from breakage (or, where `expire` has not run yet, taken
        // from the dead lot), not charged to the member.
        effect.points = (effect.legs.first { $0.account == .member(target.member) }?.amount ?? 0) + dead
        if points > 0 {
            account.addQualifying(-points, at: target.posting.occurredAt)
            effect.qualifying.append((target.member, QualifyingDay.day(of: target.posting.occurredAt)))
        }
        undoUpgrade(&account, &effect, tierBefore: detail.tierBefore, original: target.original, at: time)
    }

    /// A redemption undone, in part or in full: the points its reversed units cost given back
    /// to the lots they came from, and the obligations they made undone.
    func planRedeemReversal(
        _ effect: inout Effect,
        _ account: inout MemberAccount,
        partner: Partner,
        _ target: ReversalTarget
    ) throws {
        let (entry, rate, before, after) = (target.entry, target.rate, target.before, target.after)
        effect.kind = .reverseRedeem
        // The member pays for the units still standing what a redemption of them costs,
        // rounded up: never a point less. Each piece gives back the difference, so the
        // pieces add up to the points the redemption took.
        let spent = try rate.apply(to: entry.units, rounding: .up).value
        let restoredBefore = try spent - rate.apply(to: entry.units - before, rounding: .up).value
        let restoredAfter = try spent - rate.apply(to: entry.units - after, rounding: .up).value
        effect.points = restoredAfter - restoredBefore
        let converted =
            try Rate.unitsFor(points: restoredAfter, rate: rate, rounding: .down)
            - Rate.unitsFor(points: restoredBefore, rate: rate, rounding: .down)
        effect.unitLegs(book.accounts(of: partner), reported: -(after - before), converted: converted)
        guard let value = target.detail.value else {
            throw CoalitionError(.storeFailure, "posting \(entry.seq) has no redemption value in its detail")
        }
        var dead: Int64 = 0
        var split: [IssuerPoints] = []
        try planRedemptionReversal(
            &effect,
            &account,
            partner: partner,
            parts: target.detail.parts,
            value: value,
            restored: restoredBefore..<restoredAfter,
            at: effect.occurredAt,
            dead: &dead,
            split: &split
        )
        effect.detail += PostingDetail.split(split)
        // The change to the member's live balance: points given back to a lot already
        // past its expiry are dead.
        effect.points = (effect.legs.first { $0.account == .member(target.member) }?.amount ?? 0) - dead
    }

    /// Takes back the upgrade an earn caused, as far as the qualifying points it leaves no
    /// longer reach: the member goes to the highest tier their qualifying points in the window
    /// ending at the reversal support, never below `tierBefore` (the tier held before the
    /// earn) and never up. Not a review: the downgrade policy does not apply, as the tier was
    /// never earned. An earn that upgraded nobody (`tierBefore` nil) changes no tier.
    func undoUpgrade(
        _ account: inout MemberAccount,
        _ effect: inout Effect,
        tierBefore: Int?,
        original: String,
        at time: Timestamp
    ) {
        guard let tierBefore, account.tier > tierBefore, network.tiers.indices.contains(account.tier) else { return }
        let qualifying = account.qualifyingPoints(at: time, windowDays: network.tierWindowDays)
        let target = max(tierBefore, min(account.tier, network.tierIndex(forQualifying: qualifying)))
        guard target < account.tier else { return }
        effect.tierChanges.append(
            TierChange(
                member: account.number,
                at: time,
                from: network.tiers[account.tier].name,
                to: network.tiers[target].name,
                reason: "reversal of \(original): \(qualifying) qualifying points in \(network.tierWindowDays) days"
            )
        )
        account.tier = target
        account.tierSince = time
    }

    /// A reversal reaches a closed member too: the partner's correction must land.
    func openMemberForReversal(_ number: MemberNumber) throws -> MemberAccount {
        guard let account = member(number) else { throw CoalitionError(.unknownMember, "no member \(number)") }
        return account
    }

    /// Takes `points` back for `partner`: first from the lot the earn made, then from the
    /// member's other lots (another issuer's points then pay `partner`), and what is still
    /// missing becomes a debt to `partner` (added to `debt`). Adds to `dead` the points taken
    /// from the earn's own lot past its expiry at `time` (held still because `expire` has not
    /// run).
    func planPointsTakenBack(
        _ effect: inout Effect,
        _ account: inout MemberAccount,
        partner: Partner,
        lotID: Int64?,
        points: Int64,
        at time: Timestamp,
        dead: inout Int64,
        split: inout [IssuerPoints],
        debt: inout Int64
    ) throws {
        guard points > 0 else { return }
        var missing = points
        // Points of the earn that already expired: their breakage was never the member's;
        // it is booked back to the issuer, and the member keeps what they hold.
        if let lotID, !account.lots.contains(where: { $0.id == lotID }), var expired = try expiredLot(lotID),
            expired.points > expired.reversed
        {
            let back = min(missing, expired.points - expired.reversed)
            expired.reversed += back
            effect.expiredLots[lotID] = expired
            effect.leg(booked: book.breakage(partner.id), -back)
            effect.leg(booked: book.issuer(partner.id), back)
            missing -= back
        }
        guard missing > 0 else { return }
        effect.leg(member: account.number, -missing)
        effect.leg(booked: book.issuer(partner.id), missing)
        if let lotID, let index = account.lots.firstIndex(where: { $0.id == lotID }) {
            let taken = min(account.lots[index].points, missing)
            if account.lots[index].expiresAt <= time { dead += taken }
            IssuerPoints.add(taken, of: partner.id, to: &split)
            account.lots[index].points -= taken
            effect.changed(account.lots[index])
            if account.lots[index].points == 0 { account.lots.remove(at: index) }
            missing -= taken
        }
        if missing > 0 {
            let take = min(missing, account.available(at: time))
            let parts = consume(&account, take, at: time, &effect)
            for part in parts { IssuerPoints.add(part.points, of: part.issuer, to: &split) }
            try payIssuer(partner, from: parts, at: time, &effect)
            missing -= take
        }
        if missing > 0 {
            let owed = Lot(
                id: nextLotID(),
                member: account.number,
                issuer: partner.id,
                points: -missing,
                earnedAt: time,
                expiresAt: Lot.never,
                isBonus: false
            )
            account.insert(owed)
            effect.changed(owed)
            debt += missing
        }
    }

    /// Gives back the lots a redemption consumed, newest-consumed first, and undoes the
    /// obligations of the points given back, to the minor unit.
    func planRedemptionReversal(
        _ effect: inout Effect,
        _ account: inout MemberAccount,
        partner: Partner,
        parts: [ConsumedPart],
        value: Rate,
        restored range: Range<Int64>,
        at time: Timestamp,
        dead: inout Int64,
        split: inout [IssuerPoints]
    ) throws {
        guard !range.isEmpty else { return }
        // Walk the parts from the last consumed; `offset` counts points from that end.
        var offset: Int64 = 0
        var issuerBefore: [PartnerID: Int64] = [:]
        var issuerRestored: [PartnerID: Int64] = [:]
        var issuerOrder: [PartnerID] = []
        for part in parts.reversed() {
            let partRange = offset..<(offset + part.points)
            offset += part.points
            let alreadyBefore = max(0, min(range.lowerBound, partRange.upperBound) - partRange.lowerBound)
            let overlap = max(
                0,
                min(range.upperBound, partRange.upperBound) - max(range.lowerBound, partRange.lowerBound)
            )
            if !issuerOrder.contains(part.issuer) { issuerOrder.append(part.issuer) }
            issuerBefore[part.issuer, default: 0] += alreadyBefore
            guard overlap > 0 else { continue }
            issuerRestored[part.issuer, default: 0] += overlap
            effect.leg(booked: book.issuer(part.issuer), -overlap)
            try giveBack(overlap, of: part, to: &account, &effect, at: time, dead: &dead)
        }
        for issuer in issuerOrder {
            if let restored = issuerRestored[issuer], restored > 0 {
                IssuerPoints.add(restored, of: issuer, to: &split)
            }
        }
        for issuer in issuerOrder where issuer != partner.id {
            guard let restored = issuerRestored[issuer], restored > 0 else { continue }
            let before = issuerBefore[issuer] ?? 0
            let amount =
                try value.apply(to: before + restored, rounding: .halfEven).value
                - value.apply(to: before, rounding: .halfEven).value
            effect.obligation(debtor: issuer, creditor: partner, amount: -amount, points: -restored, book: &book)
        }
        try settleDebts(&account, &effect, at: time)
    }

    /// Gives `points` back to the lot `part` was taken from, under its own id: added to it if
    /// the member still holds it, made again if it was used up, or, if `expire` has ended it
    /// since, added to its breakage (those points are dead: the member does not get them).
    /// Adds to `dead` the points given back to a lot the member holds past its expiry at
    /// `time`: `expire` books them.
    func giveBack(
        _ points: Int64,
        of part: ConsumedPart,
        to account: inout MemberAccount,
        _ effect: inout Effect,
        at time: Timestamp,
        dead: inout Int64
    ) throws {
        if part.expiresAt <= time, effect.expiredLots[part.lotID] == nil, try expiredLot(part.lotID) == nil {
            dead += points
        }
        if let index = account.lots.firstIndex(where: { $0.id == part.lotID }) {
            account.lots[index].points += points
            effect.changed(account.lots[index])
            effect.leg(member: account.number, points)
            return
        }
        if var expired = try effect.expiredLots[part.lotID] ?? expiredLot(part.lotID) {
            expired.points += points
            effect.expiredLots[part.lotID] = expired
            effect.leg(booked: book.breakage(part.issuer), points)
            return
        }
        let lot = Lot(
            id: part.lotID,
            member: account.number,
            issuer: part.issuer,
            points: points,
            earnedAt: part.earnedAt,
            expiresAt: part.expiresAt,
            isBonus: part.isBonus
        )
        account.insert(lot)
        effect.changed(lot)
        effect.leg(member: account.number, points)
    }
}
