/// Applies one chunk of a batch's records to the ledger's state, and gathers what the store
/// must write for them.
///
/// Each record is planned in full (every check, every amount) before anything is recorded,
/// so a rejected record leaves no trace. Earns and redemptions, nearly every record, are
/// planned on the member as they stand and the change is applied in place by `post`, whose
/// one possible failure (a balance overflowing) is checked first: a member's lots are not
/// copied for each record. Other records are planned on copies of what they touch.
///
/// A recorded record changes members and the record-id index in memory at once; if the
/// batch then fails (a whole-file fault, a store failure) the ledger reloads its state from
/// the store, which never saw it. Account balances are kept by account number for the chunk
/// and join the state, with the counters, when the chunk is handed to the store (`finish`,
/// then `merge`).
final class BatchBuilder {
    private let ledger: Ledger
    var write: LedgerWrite
    /// The journal's end as this chunk leaves it, the balances its postings set, and the
    /// buffers posting reuses.
    private var chain: PostingChain
    private var lastLotID: Int64
    /// The legs array records are planned in, passed from one record to the next.
    private var spareLegs: [PlannedLeg] = []
    /// Whether a recorded record changed the ledger's state in memory.
    private(set) var hasChangedState = false

    /// A view of the ledger for one chunk of about `expected` records: the overlay's tables
    /// are sized for it once.
    init(ledger: Ledger, batchID: Int64, expected: Int = 0) {
        self.ledger = ledger
        network = ledger.network
        let state = ledger.state
        write = LedgerWrite(batchID: batchID)
        spareLegs.reserveCapacity(8)
        if expected > 0 {
            write.postings.reserveCapacity(expected)
            write.lots.reserveCapacity(expected + expected / 2)  // about 1.1 lots a record
            write.qualifying.reserveCapacity(expected)
            write.obligations.reserveCapacity(expected)
        }
        chain = PostingChain(lastSeq: state.lastSeq, lastHash: state.lastHash, lastObligationID: state.lastObligationID)
        lastLotID = state.lastLotID
    }

    /// The numbered names of accounts, which planned legs carry.
    var book: AccountBook {
        get { ledger.book }
        _modify { yield &ledger.book }
    }

    /// The network, copied once per chunk rather than at each use.
    let network: Network

    // MARK: Reading the state

    func member(_ number: MemberNumber) -> MemberAccount? { ledger.state.members[number] }

    /// Records `account` as the member now stands, in memory and, when the member's row
    /// changed, for the store.
    func record(_ account: MemberAccount, rowChanged: Bool) {
        hasChangedState = true
        ledger.state.members[account.number] = account
        if rowChanged { write.addRow(of: account) }
    }

    /// What the ledger remembers of `key`, if it was applied. The chunk's own records are in
    /// the index too (`post` adds them), so a miss there is certain; a hit is the chunk's own
    /// posting, checked against its row, or a candidate confirmed against the journal. Either
    /// way with the units this chunk's reversals left it.
    func entry(for key: RecordKey, fingerprint: UInt64? = nil) throws -> RecordEntry? {
        let fingerprint = fingerprint ?? RecordIndex.fingerprint(key)
        guard let candidate = ledger.state.records.candidate(for: key, fingerprint: fingerprint) else { return nil }
        let reversed = write.reversedUnits[candidate.seq]
        let first = ledger.state.lastSeq + 1
        if candidate.seq >= first {
            // A posting of this chunk: `key`'s own, or another key's with its fingerprint.
            let index = Int(candidate.seq - first)
            guard candidate.isExact || write.postings.holds(key, at: index) else { return nil }
            let row = write.postings.rows[index]
            return RecordEntry(seq: row.seq, kind: row.kind, units: row.units, reversedUnits: reversed ?? 0)
        }
        guard var entry = try ledger.confirm(candidate, for: key) else { return nil }
        if let reversed { entry.reversedUnits = reversed }
        return entry
    }

    func expiredLot(_ id: Int64) throws -> ExpiredLot? {
        if let pending = write.expiredLots[id] { return pending }
        return try ledger.store.expiredLot(id)
    }

    func posting(seq: Int64) throws -> Posting? {
        // This chunk's postings follow the ledger's last one without a gap.
        let index = seq - ledger.state.lastSeq - 1
        if index >= 0 && index < Int64(write.postings.count) { return write.postings[Int(index)] }
        return try ledger.store.posting(seq: seq)
    }

    /// Refuses an operator action at `time` that is before the enrolment or the latest
    /// movement of one of `members`, or inside a closed clearing cycle: it would rewrite a
    /// history members and partners have already been shown.
    func checkEffectiveTime(_ time: Timestamp, of members: [MemberAccount]) throws {
        for account in members {
            guard time >= account.enrolledAt else {
                throw CoalitionError(
                    .effectiveTimeRefused,
                    "\(time) is before member \(account.number) enrolled (\(account.enrolledAt))"
                )
            }
            let later = try ledger.store.postings(member: account.number, in: time.adding(seconds: 1)...Lot.never)
            if let latest = later.map(\.occurredAt).max() {
                throw CoalitionError(
                    .effectiveTimeRefused,
                    "\(time) is before member \(account.number)'s latest movement (\(latest))"
                )
            }
        }
        if let closed = try ledger.store.cycles().last, time <= closed.through {
            throw CoalitionError(
                .effectiveTimeRefused,
                "\(time) is inside closed clearing cycle \(closed.number) (through \(closed.through))"
            )
        }
    }

    // MARK: Applying

    /// Applies one record; returns the change to the member's balance.
    func apply(_ record: LedgerRecord) throws -> Int64 {
        let fingerprint = RecordIndex.fingerprint(record.key)
        guard try entry(for: record.key, fingerprint: fingerprint) == nil else {
            throw CoalitionError(.duplicateRecord, "record id \(record.key.recordID) was already applied")
        }
        let partner = try network.partner(record.key.partner)
        var effect = Effect(key: record.key, occurredAt: record.occurredAt)
        // The legs array of the record before, emptied, with its capacity: none is allocated.
        swap(&effect.legs, &spareLegs)
        defer {
            swap(&effect.legs, &spareLegs)
            spareLegs.removeAll(keepingCapacity: true)
        }
        effect.fingerprint = fingerprint
        switch record.body {
        case .enroll(let number):
            guard member(number) == nil else {
                throw CoalitionError(.memberExists, "member \(number) is already enrolled")
            }
            effect.kind = .enroll
            effect.member = number
            effect.members[number] = MemberAccount(
                number: number,
                enrolledAt: record.occurredAt,
                enrolledBy: partner.id
            )
            effect.memberRows.insert(number)
        case .earn(let number, let units):
            try planEarn(&effect, partner: partner, member: number, units: units)
        case .redeem(let number, let units):
            try planRedeem(&effect, partner: partner, member: number, units: units)
        case .reverse(let original, let units):
            try planReversal(&effect, partner: partner, original: original, units: units)
        }
        try post(effect)
        return effect.points
    }

    /// Runs `body` on open member `number` where the state holds them, not on a copy; gives
    /// its result and where the member is held. `body` reads the member and must not touch
    /// the ledger's state (it is being accessed).
    func withOpenMember<T>(
        _ number: MemberNumber,
        _ body: (inout MemberAccount) throws -> T
    ) throws -> (result: T, index: MemberIndex) {
        guard let index = ledger.state.members.index(forKey: number) else {
            throw CoalitionError(.unknownMember, "no member \(number)")
        }
        func open(_ account: inout MemberAccount) throws -> T {
            guard !account.isClosed else { throw CoalitionError(.memberClosed, "member \(number) is closed") }
            return try body(&account)
        }
        return (try open(&ledger.state.members.values[index]), index)
    }

    func openMember(_ number: MemberNumber) throws -> MemberAccount {
        guard let account = member(number) else {
            throw CoalitionError(.unknownMember, "no member \(number)")
        }
        guard !account.isClosed else { throw CoalitionError(.memberClosed, "member \(number) is closed") }
        return account
    }

    func checkAmount(_ units: Int64) throws {
        guard units > 0, units <= maximumRecordAmount else {
            throw CoalitionError(.badAmount, "amount \(units) is not between 1 and \(maximumRecordAmount)")
        }
    }

    /// An earn: a lot (and a tier bonus lot) of the partner's points, qualifying points, and
    /// an upgrade when they reach a tier. Planned on the member as they stand and applied in
    /// place by `post`; only repaying a debt the member owes is planned on a copy.
    private func planEarn(_ effect: inout Effect, partner: Partner, member number: MemberNumber, units: Int64) throws {
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
            let lot = Lot(
                id: nextLotID(),
                member: number,
                issuer: partner.id,
                points: conversion.points,
                earnedAt: time,
                expiresAt: time.adding(days: network.pointsLifetimeDays),
                isBonus: false
            )
            change.newLot = lot
            effect.changed(lot)
            effect.leg(member: number, conversion.points)
            effect.leg(booked: book.issuer(partner.id), -conversion.points)
            // The tier held before this earn gives its bonus, funded by the earning partner.
            let bonusPercent = network.tiers.indices.contains(tier) ? network.tiers[tier].bonusPercent : 0
            let bonus = try Checked.narrow(Int128(conversion.points) * Int128(bonusPercent) / 100)
            if bonus > 0 {
                let bonusLot = Lot(
                    id: nextLotID(),
                    member: number,
                    issuer: partner.id,
                    points: bonus,
                    earnedAt: time,
                    expiresAt: lot.expiresAt,
                    isBonus: true
                )
                change.bonusLot = bonusLot
                effect.changed(bonusLot)
                effect.leg(member: number, bonus)
                effect.leg(booked: book.issuer(partner.id), -bonus)
                effect.points += bonus
            }
            change.qualifying = conversion.points
            effect.qualifying.append((number, QualifyingDay.day(of: time)))
            // The earn's day is the last of the window, so its points join the window's sum.
            let window = qualifying + (network.tierWindowDays > 0 ? conversion.points : 0)
            let target = network.tierIndex(forQualifying: window)
            if target > tier {
                change.tier = target
                effect.tierChanges.append(
                    TierChange(
                        member: number,
                        at: time,
                        from: network.tiers[tier].name,
                        to: network.tiers[target].name,
                        reason: "upgrade: \(window) qualifying points in \(network.tierWindowDays) days"
                    )
                )
            }
        }
        // The detail in one access to the chain: `r=<rate>[;lot=<id>[;bonus=<points>;bonuslot=<id>]]`.
        chain.writeDetail { detail in
            detail.append("r=")
            detail.append(rate)
            if let lot = change.newLot {
                detail.append(";lot=")
                detail.append(lot.id)
            }
            if let bonusLot = change.bonusLot {
                detail.append(";bonus=")
                detail.append(bonusLot.points)
                detail.append(";bonuslot=")
                detail.append(bonusLot.id)
            }
            if change.tier != nil {
                // The tier held before the upgrade this earn caused: what its reversal goes back to.
                detail.append(";up=")
                detail.append(Int64(tier))
            }
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

    private func planRedeem(_ effect: inout Effect, partner: Partner, member number: MemberNumber, units: Int64) throws
    {
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
            detail.append("r=")
            detail.append(rate)
            detail.append(";v=")
            detail.append(value)
            detail.append(";parts=")
            for (index, part) in parts.enumerated() {
                if index > 0 { detail.append(separator: 44) }  // ","
                part.write(into: &detail)
            }
        }
        effect.detailIsPlanned = true
    }

    private func planReversal(_ effect: inout Effect, partner: Partner, original: String, units: Int64?) throws {
        let originalKey: RecordKey
        do {
            originalKey = try RecordKey(partner: partner.id, recordID: original)
        } catch let error as CoalitionError {
            // The fault is this record's `original` field: its place names this record, not that id.
            throw CoalitionError(error.code, error.message, at: Place(field: "original"))
        }
        guard var entry = try entry(for: originalKey) else {
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
        var account = try openMemberForReversal(number)
        let time = effect.occurredAt
        effect.member = number
        effect.units = requested
        effect.detail = "of=\(original)"
        let before = entry.reversedUnits
        let after = before + requested
        if entry.kind == .earn {
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
            effect.unitLegs(book.accounts(of: partner), reported: requested, converted: -converted)
            // The bonus the earn gave goes back in proportion: the member keeps the bonus of
            // the units still standing, rounded down.
            let bonus = detail.bonus ?? 0
            let bonusBack =
                bonus == 0
                ? 0
                : try Checked.narrow(Int128(bonus) * Int128(entry.units - before) / Int128(entry.units))
                    - Checked.narrow(Int128(bonus) * Int128(entry.units - after) / Int128(entry.units))
            var dead: Int64 = 0
            var split: [IssuerPoints] = []
            try planEarnReversal(
                &effect,
                &account,
                partner: partner,
                lotID: detail.lot,
                points: points,
                at: time,
                dead: &dead,
                split: &split
            )
            try planEarnReversal(
                &effect,
                &account,
                partner: partner,
                lotID: detail.bonusLot,
                points: bonusBack,
                at: time,
                dead: &dead,
                split: &split
            )
            effect.detail += IssuerPoints.detail(split)
            // The change to the member's live balance: points of the earn that already
            // expired are booked back from breakage (or, where `expire` has not run yet, taken
            // from the dead lot), not charged to the member.
            effect.points = (effect.legs.first { $0.account == .member(number) }?.amount ?? 0) + dead
            if points > 0 {
                account.addQualifying(-points, at: posting.occurredAt)
                effect.qualifying.append((number, QualifyingDay.day(of: posting.occurredAt)))
            }
            undoUpgrade(&account, &effect, tierBefore: detail.tierBefore, original: original, at: time)
        } else {
            effect.kind = .reverseRedeem
            // The member pays for the units still standing what a redemption of them costs,
            // rounded up: never a point less. Each piece gives back the difference, so the
            // pieces add up to the points the redemption took.
            let spent = try rate.apply(to: entry.units, rounding: .up).value
            let restoredBefore = try spent - rate.apply(to: entry.units - before, rounding: .up).value
            let restoredAfter = try spent - rate.apply(to: entry.units - after, rounding: .up).value
            let points = restoredAfter - restoredBefore
            effect.points = points
            let converted =
                try Rate.unitsFor(points: restoredAfter, rate: rate, rounding: .down)
                - Rate.unitsFor(points: restoredBefore, rate: rate, rounding: .down)
            effect.unitLegs(book.accounts(of: partner), reported: -requested, converted: converted)
            guard let value = detail.value else {
                throw CoalitionError(.storeFailure, "posting \(entry.seq) has no redemption value in its detail")
            }
            var dead: Int64 = 0
            var split: [IssuerPoints] = []
            try planRedemptionReversal(
                &effect,
                &account,
                partner: partner,
                parts: detail.parts,
                value: value,
                restored: restoredBefore..<restoredAfter,
                at: time,
                dead: &dead,
                split: &split
            )
            effect.detail += IssuerPoints.detail(split)
            // The change to the member's live balance: points given back to a lot already
            // past its expiry are dead.
            effect.points = (effect.legs.first { $0.account == .member(number) }?.amount ?? 0) - dead
        }
        entry.reversedUnits = after
        effect.reversed = entry
        effect.members[number] = account
    }

    /// Takes back the upgrade an earn caused, as far as the qualifying points it leaves no
    /// longer reach: the member goes to the highest tier their qualifying points in the window
    /// ending at the reversal support, never below `tierBefore` (the tier held before the
    /// earn) and never up. Not a review: the downgrade policy does not apply, as the tier was
    /// never earned. An earn that upgraded nobody (`tierBefore` nil) changes no tier.
    private func undoUpgrade(
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
    private func openMemberForReversal(_ number: MemberNumber) throws -> MemberAccount {
        guard let account = member(number) else { throw CoalitionError(.unknownMember, "no member \(number)") }
        return account
    }

    /// Takes `points` back for `partner`: first from the lot the earn made, then from the
    /// member's other lots (another issuer's points then pay `partner`), and what is still
    /// missing becomes a debt to `partner`. Adds to `dead` the points taken from the earn's
    /// own lot past its expiry at `time` (held still because `expire` has not run).
    private func planEarnReversal(
        _ effect: inout Effect,
        _ account: inout MemberAccount,
        partner: Partner,
        lotID: Int64?,
        points: Int64,
        at time: Timestamp,
        dead: inout Int64,
        split: inout [IssuerPoints]
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
            let debt = Lot(
                id: nextLotID(),
                member: account.number,
                issuer: partner.id,
                points: -missing,
                earnedAt: time,
                expiresAt: Lot.never,
                isBonus: false
            )
            account.insert(debt)
            effect.changed(debt)
        }
    }

    /// Gives back the lots a redemption consumed, newest-consumed first, and undoes the
    /// obligations of the points given back, to the minor unit.
    private func planRedemptionReversal(
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
    private func giveBack(
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

    // MARK: Recording

    /// Turns a planned effect into a posting, lots, obligations and balances in the overlay.
    /// Nothing here can fail but an account balance overflowing, which is checked first.
    func post(_ effect: Effect) throws {
        // One access each to the state, the chunk's write and the chain for the whole
        // posting (`record` takes them inout), not one to a property at every use.
        try BatchBuilder.record(
            effect,
            state: &ledger.state,
            write: &write,
            chain: &chain,
            book: &ledger.book,
            hasher: ledger.hasher
        )
        hasChangedState = true
    }

    /// `post`'s work, on what it changes.
    private static func record(
        _ effect: Effect,
        state: inout LedgerSnapshot,
        write: inout LedgerWrite,
        chain: inout PostingChain,
        book: inout AccountBook,  // read only; inout so that it is not copied
        hasher: SHA256
    ) throws {
        // Every new balance is checked before any is set.
        chain.newBalances.removeAll(keepingCapacity: true)
        for leg in effect.legs {
            guard case .booked(let number) = leg.account, book.isBalanced(number) else { continue }
            let balance = chain.balances.balance(of: number, book: book, state: state)
            chain.newBalances.append((number, try Checked.add(balance, leg.amount)))
        }
        chain.lastSeq += 1
        let seq = chain.lastSeq
        let key = effect.key
        let batch = write.batchID
        // The legs and detail are written into buffers once; the canonical bytes and the
        // chunk's rows are made from them.
        chain.legs.removeAll()
        chain.legs.append(effect.legs, book: book)
        if !effect.detailIsPlanned {
            chain.detail.removeAll()
            chain.detail.append(effect.detail)
        }
        // The row is stored first; the canonical bytes are made from it, so what is hashed is
        // what is stored, and the hash then fills the row's placeholder.
        let index = chain.legs.withUnsafeBytes { legs -> Int in
            chain.detail.withUnsafeBytes { detail -> Int in
                PostingRows.unsetHash.withUnsafeBytes { unset -> Int in
                    write.postings.append(
                        seq: seq,
                        batch: batch,
                        kind: effect.kind,
                        partner: key?.partner,
                        recordID: key?.recordID,
                        member: effect.member,
                        counterparty: effect.counterparty,
                        occurredAt: effect.occurredAt,
                        units: effect.units,
                        points: effect.points,
                        legs: legs,
                        detail: detail,
                        hash: unset
                    )
                }
            }
        }
        write.postings.canonicalBytes(of: index, into: &chain.canonical)
        Posting.advance(&chain.lastHash, canonical: chain.canonical, using: hasher)
        write.postings.setHash(of: index, to: chain.lastHash)
        for (number, value) in chain.newBalances { chain.balances.set(number, value) }
        let rowsChanged = !effect.memberRows.isEmpty || !effect.tierChanges.isEmpty
        func rowChanged(_ number: MemberNumber) -> Bool {
            rowsChanged && (effect.memberRows.contains(number) || effect.tierChanges.contains { $0.member == number })
        }
        var appliedDay: QualifyingKey?
        if let change = effect.inPlace {
            // Where planning found the member: no member was added or removed since (and
            // this comes before the members below, one of whom may be new).
            let points = state.members.values[change.index].apply(change, at: effect.occurredAt)
            if change.qualifying != 0 {
                let key = QualifyingKey(member: change.member, day: QualifyingDay.day(of: effect.occurredAt))
                write.qualifying.append((key, points))
                appliedDay = key
            }
            if rowChanged(change.member) { write.addRow(of: state.members.values[change.index]) }
        }
        for (number, account) in effect.members {
            state.members[account.number] = account
            if rowChanged(number) { write.addRow(of: account) }
        }
        for (number, day) in effect.qualifying where appliedDay != QualifyingKey(member: number, day: day) {
            // Read where the member is held: no copy of them is made.
            func points(_ account: inout MemberAccount) -> Int64 {
                account.qualifying.last(where: { $0.day == day })?.points ?? 0
            }
            var planned = effect.members[number]  // a member planned on a copy
            let points = planned != nil ? points(&planned!) : state.members.withValue(forKey: number, points) ?? 0
            write.qualifying.append((QualifyingKey(member: number, day: day), points))
        }
        if !effect.tierChanges.isEmpty { write.tierChanges += effect.tierChanges }
        for (id, expired) in effect.expiredLots { write.expiredLots[id] = expired }
        for (id, lot) in effect.lots {
            if lot.points == 0 {
                write.lots[id] = nil
                write.deletedLots.insert(id)
            } else {
                write.lots[id] = lot
                if !write.deletedLots.isEmpty { write.deletedLots.remove(id) }
            }
        }
        guard let key else { return }
        for draft in effect.obligations {
            chain.lastObligationID += 1
            write.obligations.append(
                Obligation(
                    id: chain.lastObligationID,
                    postingSeq: seq,
                    batch: batch,
                    debtor: draft.debtor,
                    creditor: draft.creditor,
                    currency: draft.currency,
                    amount: draft.amount,
                    points: draft.points,
                    occurredAt: effect.occurredAt,
                    source: key,
                    member: effect.member!,
                    cycle: nil
                )
            )
        }
        state.records.insert(fingerprint: effect.fingerprint ?? RecordIndex.fingerprint(key), seq: seq, key: key)
        if let entry = effect.reversed { write.reversedUnits[entry.seq] = entry.reversedUnits }
    }

    /// Records a posting of the network's own (a cycle's settlement, an expiry run): legs on
    /// accounts, no record behind it.
    func post(
        kind: PostingKind,
        occurredAt: Timestamp,
        member: MemberNumber? = nil,
        legs: [Leg],
        detail: String
    ) throws
        -> Int64
    {
        var effect = Effect(key: nil, occurredAt: occurredAt)
        effect.kind = kind
        effect.member = member
        effect.detail = detail
        for leg in legs {
            let planned = book.planned(leg)
            effect.leg(planned.account, planned.amount)
        }
        try post(effect)
        return chain.lastSeq
    }

    /// The chunk's write, done: the balances its postings set are in it, and in the
    /// ledger's state. Call once, when the chunk is handed to the store.
    func finish() -> LedgerWrite {
        chain.balances.flush(book: ledger.book, state: &ledger.state, write: &write)
        chain.balances = ChunkBalances()
        return write
    }

    /// Adds the chunk's counters to the ledger's state, once the chunk is the store's
    /// (members, balances and record ids are there already; the reversed units of earlier
    /// records live in the journal, which the store now has).
    func merge(into state: inout LedgerSnapshot) {
        state.lastSeq = chain.lastSeq
        state.lastHash = chain.lastHash
        state.lastLotID = lastLotID
        state.lastObligationID = chain.lastObligationID
    }
}

/// Where the ledger's state holds a member.
typealias MemberIndex = Dictionary<MemberNumber, MemberAccount>.Index

extension Dictionary {
    /// Runs `body` on the value for `key` where the dictionary holds it, not on a copy; nil
    /// if there is none.
    mutating func withValue<T>(forKey key: Key, _ body: (inout Value) throws -> T) rethrows -> T? {
        guard let index = index(forKey: key) else { return nil }
        return try body(&values[index])
    }
}

/// The end of the journal as a chunk extends it, and the buffers each posting reuses.
struct PostingChain: ~Copyable {
    var lastSeq: Int64
    var lastHash: [UInt8]
    var lastObligationID: Int64
    /// The posting's legs text, then its canonical bytes.
    var legs = CanonicalBytes()
    var canonical = CanonicalBytes()
    /// The balances a posting sets, by account number.
    var newBalances: [(Int32, Int64)] = []
    /// The balances the chunk's postings set; the state has them when the chunk is done.
    var balances = ChunkBalances()
    /// The buffer each earn's and redemption's detail text is planned into.
    var detail = CanonicalBytes()

    /// Plans a detail text into `detail`, emptied first: one access to the chain for the whole
    /// text, not one for each of its parts.
    mutating func writeDetail(_ body: (inout CanonicalBytes) -> Void) {
        detail.removeAll()
        body(&detail)
    }
}

extension LedgerWrite {
    /// Has the store write `account`'s row (enrolment, tier, closure) as it now stands.
    mutating func addRow(of account: MemberAccount) {
        members[account.number] = account
        memberRows.insert(account.number)
    }
}

/// Everything one record will change, planned before anything is recorded.
struct Effect {
    /// The record that caused it; nil for the network's own postings (cycles, expiry).
    let key: RecordKey?
    let occurredAt: Timestamp
    var kind: PostingKind = .enroll
    var member: MemberNumber?
    var units: Int64 = 0
    var points: Int64 = 0
    var detail = ""
    /// The detail is not `detail` but what planning wrote in the builder's detail buffer.
    var detailIsPlanned = false
    var legs: [PlannedLeg] = []
    var members = SmallMap<MemberNumber, MemberAccount>()
    var lots = SmallMap<Int64, Lot>()
    var obligations: [(debtor: PartnerID, creditor: PartnerID, currency: Currency, amount: Int64, points: Int64)] = []
    /// The record a reversal undid, as it now stands.
    var reversed: RecordEntry?
    /// The fingerprint of `key` in the record index, where it was made already.
    var fingerprint: UInt64?
    /// Members whose qualifying points changed on a day.
    var qualifying: [(MemberNumber, Int64)] = []
    var tierChanges: [TierChange] = []
    /// Expired lots whose points a reversal booked back.
    var expiredLots: [Int64: ExpiredLot] = [:]
    /// The receiver of a transfer.
    var counterparty: MemberNumber?
    /// Members whose row (enrolment, tier, closure) changed.
    var memberRows: Set<MemberNumber> = []
    /// A change planned on a member as they stood (not a copy in `members`), applied in
    /// place when the effect is posted.
    var inPlace: InPlaceChange?

    init(key: RecordKey?, occurredAt: Timestamp) {
        self.key = key
        self.occurredAt = occurredAt
    }

    /// Adds `amount` to the leg of `account`, merging legs of the same account.
    mutating func leg(_ account: LegAccount, _ amount: Int64) {
        guard amount != 0 else { return }
        if let index = legs.firstIndex(where: { $0.account == account }) {
            let sum = legs[index].amount + amount
            if sum == 0 { legs.remove(at: index) } else { legs[index].amount = sum }
        } else {
            legs.append(PlannedLeg(account: account, amount: amount))
        }
    }

    /// A leg of member `number`'s points.
    mutating func leg(member number: MemberNumber, _ amount: Int64) { leg(.member(number), amount) }

    /// A leg of account `number` of the book.
    mutating func leg(booked number: Int32, _ amount: Int64) { leg(.booked(number), amount) }

    /// The partner-unit side of a conversion: what was reported, what converted to whole
    /// points, and the difference to the rounding account.
    mutating func unitLegs(_ accounts: AccountBook.PartnerAccounts, reported: Int64, converted: Int64) {
        leg(booked: accounts.reported, reported)
        leg(booked: accounts.converted, converted)
        leg(booked: accounts.rounding, -(reported + converted))
    }

    mutating func changed(_ lot: Lot) { lots[lot.id] = lot }

    /// An obligation of `debtor` to `creditor`, valued in the creditor's currency, with its
    /// money legs.
    mutating func obligation(
        debtor: PartnerID,
        creditor: Partner,
        amount: Int64,
        points: Int64,
        book: inout AccountBook
    ) {
        obligations.append((debtor, creditor.id, creditor.settlementCurrency, amount, points))
        leg(booked: book.accounts(of: creditor).receivable, amount)
        leg(booked: book.payable(debtor, creditor.settlementCurrency), -amount)
    }
}

/// How points are taken from a member's lots: alive at the time, soonest-expiring first.
/// Planned without changing the lots, then applied with `MemberAccount.consume`.
struct Consumption {
    var parts: [ConsumedPart] = []
    /// The lots taken from, as they will stand (0 points: used up), by index, ascending.
    var changes: [(index: Int, lot: Lot)] = []

    init(_ lots: [Lot], _ points: Int64, at time: Timestamp) {
        var missing = points
        var index = 0
        while missing > 0 && index < lots.count {
            var lot = lots[index]
            if lot.expiresAt > time {
                let taken = min(lot.points, missing)
                parts.append(ConsumedPart(lot: lot, points: taken))
                missing -= taken
                lot.points -= taken
                changes.append((index, lot))
            }
            index += 1
        }
    }
}

/// What an earn or a redemption changes in a member, planned on the member as they stood.
struct InPlaceChange {
    let member: MemberNumber
    /// Where the state held the member when the change was planned.
    let index: MemberIndex
    /// Lots taken from, by index, as they will stand.
    var consumed: [(index: Int, lot: Lot)] = []
    /// The lot an earn makes, and its tier bonus lot: no array is made for them.
    var newLot: Lot?
    var bonusLot: Lot?
    /// Qualifying points earned.
    var qualifying: Int64 = 0
    /// The tier reached.
    var tier: Int?

    init(member: MemberNumber, at index: MemberIndex, consumed: [(index: Int, lot: Lot)] = []) {
        self.member = member
        self.index = index
        self.consumed = consumed
    }
}

extension MemberAccount {
    /// Applies lots taken from (by index, as they now stand): used-up lots leave.
    mutating func consume(_ changes: [(index: Int, lot: Lot)]) {
        for (index, lot) in changes { lots[index] = lot }
        for (index, lot) in changes.reversed() where lot.points == 0 { lots.remove(at: index) }
    }

    /// Applies `change`, planned on this member as they stood, at `time`; gives the
    /// member's qualifying points on `time`'s day as they now stand (0 if unchanged).
    @discardableResult
    mutating func apply(_ change: InPlaceChange, at time: Timestamp) -> Int64 {
        consume(change.consumed)
        if let lot = change.newLot { insert(lot) }
        if let lot = change.bonusLot { insert(lot) }
        let points = change.qualifying != 0 ? addQualifying(change.qualifying, at: time) : 0
        if let tier = change.tier {
            self.tier = tier
            tierSince = time
        }
        return points
    }
}

/// Part of a lot that a redemption (or a debt repayment) consumed.
struct ConsumedPart {
    let lotID: Int64
    let issuer: PartnerID
    let earnedAt: Timestamp
    let expiresAt: Timestamp
    let points: Int64
    let isBonus: Bool

    init(lot: Lot, points: Int64) {
        lotID = lot.id
        issuer = lot.issuer
        earnedAt = lot.earnedAt
        expiresAt = lot.expiresAt
        self.points = points
        isBonus = lot.isBonus
    }

    init(lotID: Int64, issuer: PartnerID, earnedAt: Timestamp, expiresAt: Timestamp, points: Int64, isBonus: Bool) {
        self.lotID = lotID
        self.issuer = issuer
        self.earnedAt = earnedAt
        self.expiresAt = expiresAt
        self.points = points
        self.isBonus = isBonus
    }

    /// `lot:issuer:earned:expires:points:bonus`, as posting details keep it (and
    /// `init?(encoded:)` reads), appended to `bytes`.
    func write(into bytes: inout CanonicalBytes) {
        bytes.append(lotID)
        bytes.append(separator: 58)  // ":"
        bytes.append(issuer)
        bytes.append(separator: 58)
        bytes.append(earnedAt.seconds)
        bytes.append(separator: 58)
        bytes.append(expiresAt.seconds)
        bytes.append(separator: 58)
        bytes.append(points)
        bytes.append(separator: 58)
        bytes.append(separator: isBonus ? 49 : 48)  // "1" or "0"
    }

    init?(encoded: Substring) {
        let f = encoded.split(separator: ":")
        guard f.count == 6, let lot = Int64(f[0]), let issuer = try? PartnerID(String(f[1])),
            let earned = Int64(f[2]), let expires = Int64(f[3]), let points = Int64(f[4])
        else { return nil }
        self.init(
            lotID: lot,
            issuer: issuer,
            earnedAt: Timestamp(seconds: earned),
            expiresAt: Timestamp(seconds: expires),
            points: points,
            isBonus: f[5] == "1"
        )
    }
}

/// The `key=value;…` detail of a posting, read back for reversals and statements.
public struct PostingDetail: Sendable {
    public var rate: Rate?
    public var value: Rate?
    public var lot: Int64?
    public var bonus: Int64?
    public var bonusLot: Int64?
    /// The tier a member held before the upgrade an earn caused.
    public var tierBefore: Int?
    public var fee: Int64?
    var parts: [ConsumedPart] = []
    /// A reversal's points per issuer: taken from the member's lots (an earn's), or given
    /// back to them (a redemption's).
    var split: [IssuerPoints] = []
    public var original: String?

    public init(_ text: String) {
        for field in text.split(separator: ";") {
            guard let eq = field.firstIndex(of: "=") else { continue }
            let key = field[..<eq]
            let value = field[field.index(after: eq)...]
            switch key {
            case "r": rate = try? Rate(parsing: String(value))
            case "v": self.value = try? Rate(parsing: String(value))
            case "lot": lot = Int64(value)
            case "bonus": bonus = Int64(value)
            case "bonuslot": bonusLot = Int64(value)
            case "up": tierBefore = Int(value)
            case "fee": fee = Int64(value)
            case "of": original = String(value)
            case "parts": parts = value.split(separator: ",").compactMap { ConsumedPart(encoded: $0) }
            case "split": split = value.split(separator: ",").compactMap { IssuerPoints(encoded: $0) }
            default: break
            }
        }
    }
}

/// Points of one issuer that a record moved, in a reversal's detail (`split=`) and in an
/// acknowledgement's `I` lines.
struct IssuerPoints: Hashable {
    let issuer: PartnerID
    var points: Int64

    /// Adds `points` of `issuer` to `split`, keeping issuers in the order first met.
    static func add(_ points: Int64, of issuer: PartnerID, to split: inout [IssuerPoints]) {
        guard points != 0 else { return }
        if let index = split.firstIndex(where: { $0.issuer == issuer }) {
            split[index].points += points
        } else {
            split.append(IssuerPoints(issuer: issuer, points: points))
        }
    }

    /// `;split=<issuer>:<points>,…`, or nothing for an empty split.
    static func detail(_ split: [IssuerPoints]) -> String {
        split.isEmpty ? "" : ";split=" + split.map { "\($0.issuer):\($0.points)" }.joined(separator: ",")
    }

    init(issuer: PartnerID, points: Int64) {
        self.issuer = issuer
        self.points = points
    }

    init?(encoded: Substring) {
        let fields = encoded.split(separator: ":")
        guard fields.count == 2, let issuer = try? PartnerID(String(fields[0])), let points = Int64(fields[1]) else {
            return nil
        }
        self.init(issuer: issuer, points: points)
    }
}
