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
    let ledger: Ledger
    var write: LedgerWrite
    /// The journal's end as this chunk leaves it, the balances its postings set, and the
    /// buffers posting reuses.
    var chain: PostingChain
    var lastLotID: Int64
    /// The legs array records are planned in, passed from one record to the next.
    var spareLegs: [PlannedLeg] = []
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
        case .enroll(let number, let code):
            guard member(number) == nil else {
                if code != nil, let link = ledger.state.referrals.links[number] {
                    throw CoalitionError(
                        .alreadyReferred,
                        "member \(number) is enrolled and was referred by member \(link.referrer) already"
                    )
                }
                throw CoalitionError(.memberExists, "member \(number) is already enrolled")
            }
            if let code { try planReferralLink(&effect, member: number, code: code, partner: partner) }
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

    /// `post`'s work, on what it changes, in steps: check, append the posting to the
    /// chain, then set what it changed (balances, members, lots, obligations, the record).
    private static func record(
        _ effect: Effect,
        state: inout LedgerSnapshot,
        write: inout LedgerWrite,
        chain: inout PostingChain,
        book: inout AccountBook,  // read only; inout so that it is not copied
        hasher: SHA256
    ) throws {
        try checkBalanced(effect, sums: &chain.unitSums, book: book)
        try checkNewBalances(effect, state: state, chain: &chain, book: book)
        chain.lastSeq += 1
        let seq = chain.lastSeq
        appendPosting(effect, seq: seq, write: &write, chain: &chain, book: book, hasher: hasher)
        for (number, value) in chain.newBalances { chain.balances.set(number, value) }
        recordMembers(effect, state: &state, write: &write)
        recordLots(effect, state: &state, write: &write)
        guard let key = effect.key else { return }
        appendObligations(effect, key: key, seq: seq, write: &write, chain: &chain)
        state.records.insert(fingerprint: effect.fingerprint ?? RecordIndex.fingerprint(key), seq: seq, key: key)
        if let entry = effect.reversed { write.reversedUnits[entry.seq] = entry.reversedUnits }
    }

    /// Every booked account's new balance, checked for overflow before any is set.
    private static func checkNewBalances(
        _ effect: Effect,
        state: borrowing LedgerSnapshot,
        chain: inout PostingChain,
        book: borrowing AccountBook
    ) throws {
        chain.newBalances.removeAll(keepingCapacity: true)
        for leg in effect.legs {
            guard case .booked(let number) = leg.account, book.isBalanced(number) else { continue }
            let balance = chain.balances.balance(of: number, book: book, state: state)
            chain.newBalances.append((number, try Checked.add(balance, leg.amount)))
        }
    }

    /// Appends the posting's row to the chunk's postings and extends the hash chain over it.
    private static func appendPosting(
        _ effect: Effect,
        seq: Int64,
        write: inout LedgerWrite,
        chain: inout PostingChain,
        book: borrowing AccountBook,
        hasher: SHA256
    ) {
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
    }

    /// Sets the members the effect changed, their qualifying days and tier changes, in the
    /// state and, where a member's row changed, in the write.
    private static func recordMembers(_ effect: Effect, state: inout LedgerSnapshot, write: inout LedgerWrite) {
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
    }

    /// Sets the referral link, the expired lots and the lots the effect changed (a lot
    /// emptied is deleted).
    private static func recordLots(_ effect: Effect, state: inout LedgerSnapshot, write: inout LedgerWrite) {
        if let referral = effect.referral {
            state.referrals.set(referral)
            write.referrals[referral.member] = referral
        }
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
    }

    /// Numbers the obligations the record's posting made and appends them to the write.
    private static func appendObligations(
        _ effect: Effect,
        key: RecordKey,
        seq: Int64,
        write: inout LedgerWrite,
        chain: inout PostingChain
    ) {
        for draft in effect.obligations {
            chain.lastObligationID += 1
            write.obligations.append(
                Obligation(
                    id: chain.lastObligationID,
                    postingSeq: seq,
                    batch: write.batchID,
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
    }

    /// The engine's half of a paired check (the audit's is the other, from the stored rows):
    /// a posting's legs sum to zero in each unit. One that does not is refused before
    /// anything is written, in every build, with `UNBALANCED_POSTING`; the check is a pass
    /// over the posting's few legs into a reused buffer.
    private static func checkBalanced(
        _ effect: Effect,
        sums: inout [(unit: Int32, sum: Int64)],
        book: borrowing AccountBook
    ) throws {
        sums.removeAll(keepingCapacity: true)
        for leg in effect.legs {
            let unit = book.unit(of: leg.account)
            if let index = sums.firstIndex(where: { $0.unit == unit }) {
                sums[index].sum &+= leg.amount
            } else {
                sums.append((unit, leg.amount))
            }
        }
        for (unit, sum) in sums where sum != 0 {
            throw CoalitionError(
                .unbalancedPosting,
                "a \(effect.kind) posting does not balance in \(book.unitName(unit)): its legs sum to \(sum)"
            )
        }
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

extension ReasonCode {
    /// A posting whose legs do not sum to zero in some unit: the engine refused it and wrote
    /// nothing. A defect of the engine, never of the input; the audit checks the same of
    /// every stored posting.
    package static let unbalancedPosting: ReasonCode = "UNBALANCED_POSTING"
    /// An operator action at a time it cannot take effect: before a member's enrolment or
    /// latest movement, or inside a closed clearing cycle.
    package static let effectiveTimeRefused: ReasonCode = "EFFECTIVE_TIME_REFUSED"
}
