/// Points a member holds from one issuer, earned at one time and expiring at another.
///
/// Lots are the provenance that makes clearing possible: when a member redeems at partner R,
/// the lots consumed say which issuers owe R. A lot with negative points is a *debt*: what a
/// reversal took back beyond what the member still held, repaid first by later earnings.
public struct Lot: Hashable, Sendable {
    public let id: Int64
    public var member: MemberNumber
    public let issuer: PartnerID
    public var points: Int64
    public let earnedAt: Timestamp
    public let expiresAt: Timestamp
    /// A tier bonus lot: funded by `issuer` like any other, but not qualifying for tiers.
    public let isBonus: Bool

    public init(
        id: Int64,
        member: MemberNumber,
        issuer: PartnerID,
        points: Int64,
        earnedAt: Timestamp,
        expiresAt: Timestamp,
        isBonus: Bool
    ) {
        self.id = id
        self.member = member
        self.issuer = issuer
        self.points = points
        self.earnedAt = earnedAt
        self.expiresAt = expiresAt
        self.isBonus = isBonus
    }

    public var isDebt: Bool { points < 0 }

    /// Debts never expire.
    public static let never = Timestamp(seconds: 253_402_300_799)  // 9999-12-31T23:59:59Z

    /// The order lots are consumed in: soonest-expiring first, then oldest.
    static func consumedBefore(_ a: Lot, _ b: Lot) -> Bool {
        a.expiresAt != b.expiresAt ? a.expiresAt < b.expiresAt : a.id < b.id
    }
}

/// A member's account: their lots (positive, in consumption order) and debts.
public struct MemberAccount: Hashable, Sendable {
    public let number: MemberNumber
    public let enrolledAt: Timestamp
    public let enrolledBy: PartnerID?
    public var isClosed: Bool
    /// Positive lots, soonest-expiring first.
    public internal(set) var lots: [Lot]
    /// Negative lots, oldest first. While a member has a debt they hold no positive lot.
    public internal(set) var debts: [Lot]
    /// Index of the member's tier in the network's tier table (0: the base tier).
    public internal(set) var tier: Int = 0
    public internal(set) var tierSince: Timestamp
    /// Points earned per UTC day, oldest first, for the trailing tier window.
    public internal(set) var qualifying: [QualifyingDay] = []
    /// Transfers sent and received in the last year and a bit, oldest first, for the limits.
    public internal(set) var transfers: [TransferMark] = []

    public init(number: MemberNumber, enrolledAt: Timestamp, enrolledBy: PartnerID?, isClosed: Bool = false) {
        self.number = number
        self.enrolledAt = enrolledAt
        self.enrolledBy = enrolledBy
        self.isClosed = isClosed
        self.lots = []
        self.debts = []
        self.tierSince = enrolledAt
    }

    /// The member as loaded back: tier, qualifying days and transfer marks included.
    public init(
        number: MemberNumber,
        enrolledAt: Timestamp,
        enrolledBy: PartnerID?,
        isClosed: Bool,
        tier: Int,
        tierSince: Timestamp,
        qualifying: [QualifyingDay],
        transfers: [TransferMark]
    ) {
        self.init(number: number, enrolledAt: enrolledAt, enrolledBy: enrolledBy, isClosed: isClosed)
        self.tier = tier
        self.tierSince = tierSince
        self.qualifying = qualifying.sorted { $0.day < $1.day }.filter { $0.points != 0 }
        // `sorted` is stable: marks of one instant stay in the order given (journal order).
        self.transfers = MemberAccount.recent(transfers.sorted { $0.at < $1.at })
    }

    /// The member's balance: points held less points owed.
    public var balance: Int64 {
        var sum: Int64 = 0
        for lot in lots { sum &+= lot.points }
        for debt in debts { sum &+= debt.points }
        return sum
    }

    /// Points that can still be spent at `time`: lots not yet past their expiry.
    public func available(at time: Timestamp) -> Int64 {
        var sum: Int64 = 0
        for lot in lots where lot.expiresAt > time { sum &+= lot.points }
        return sum
    }

    /// The member's balance as shown at `time`: points alive then, less points owed. Points
    /// past their expiry are dead and not in it (`expiredPending(at:)`), whether or not
    /// `expire` has run.
    public func balance(at time: Timestamp) -> Int64 {
        var sum = available(at: time)
        for debt in debts { sum &+= debt.points }
        return sum
    }

    /// Points the member still holds past their expiry at `time`: dead, never spendable,
    /// their breakage pending until `expire` books it.
    public func expiredPending(at time: Timestamp) -> Int64 {
        var sum: Int64 = 0
        for lot in lots where lot.expiresAt <= time { sum &+= lot.points }
        return sum
    }

    /// Adds a lot in consumption order, or as a debt.
    mutating func insert(_ lot: Lot) {
        if lot.isDebt {
            debts.append(lot)
            return
        }
        var index = lots.endIndex
        while index > lots.startIndex && Lot.consumedBefore(lot, lots[index - 1]) { index -= 1 }
        lots.insert(lot, at: index)
    }
}

extension MemberAccount {
    // Loading from a store: rows are added one by one in whatever order the store reads
    // them, then put in order once by `finishLoading()`. No copy of the member is made.

    /// Makes room for rows about to be added, when the store knows how many.
    public mutating func reserveLoaded(lots: Int, debts: Int, qualifying: Int, transfers: Int) {
        self.lots.reserveCapacity(lots)
        self.debts.reserveCapacity(debts)
        self.qualifying.reserveCapacity(qualifying)
        self.transfers.reserveCapacity(transfers)
    }

    /// Adds a lot (or debt) as the store holds it.
    public mutating func addLoaded(_ lot: Lot) {
        if lot.isDebt { debts.append(lot) } else { lots.append(lot) }
    }

    /// Adds a day of qualifying points as the store holds it.
    public mutating func addLoaded(_ day: QualifyingDay) {
        if day.points != 0 { qualifying.append(day) }
    }

    /// Adds a transfer mark, in journal order.
    public mutating func addLoaded(_ mark: TransferMark) { transfers.append(mark) }

    /// Puts what was loaded in the orders the engine keeps: lots by consumption, debts and
    /// qualifying days oldest first, transfer marks by time (journal order within an instant)
    /// and only those recent enough to count for a limit.
    public mutating func finishLoading() {
        func isSorted<T>(_ items: [T], _ before: (T, T) -> Bool) -> Bool {
            items.indices.dropFirst().allSatisfy { !before(items[$0], items[$0 - 1]) }
        }
        if !isSorted(lots, Lot.consumedBefore) { lots.sort(by: Lot.consumedBefore) }
        if !isSorted(debts, { $0.id < $1.id }) { debts.sort { $0.id < $1.id } }
        if !isSorted(qualifying, { $0.day < $1.day }) { qualifying.sort { $0.day < $1.day } }
        if !transfers.isEmpty {
            // `sorted` is stable: marks of one instant stay in journal order.
            transfers = MemberAccount.recent(transfers.sorted { $0.at < $1.at })
        }
    }
}
