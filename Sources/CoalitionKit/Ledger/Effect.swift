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
    /// A posting's legs summed per unit, by unit number: the balance check's buffer.
    var unitSums: [(unit: Int32, sum: Int64)] = []
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
    /// A referral link made, or its bonus paid or taken back.
    var referral: Referral?

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
    /// The referral bonus lot the earn paid the member (their first qualifying earn).
    var referralLot: Lot?
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
        if let lot = change.referralLot { insert(lot) }
        let points = change.qualifying != 0 ? addQualifying(change.qualifying, at: time) : 0
        if let tier = change.tier {
            self.tier = tier
            tierSince = time
        }
        return points
    }
}
