import Foundation

/// A member's account: their lots (positive, in consumption order) and debts.
package struct MemberAccount: Hashable, Sendable {
    package let number: MemberNumber
    package let enrolledAt: Timestamp
    package let enrolledBy: PartnerID?
    package var isClosed: Bool
    /// Positive lots, soonest-expiring first.
    package internal(set) var lots: [Lot]
    /// Negative lots, oldest first. While a member has a debt they hold no positive lot.
    package internal(set) var debts: [Lot]
    /// Index of the member's tier in the network's tier table (0: the base tier).
    package internal(set) var tier: Int = 0
    package internal(set) var tierSince: Timestamp
    /// Points earned per UTC day, oldest first, for the trailing tier window.
    package internal(set) var qualifying: [QualifyingDay] = []
    /// Transfers sent and received in the last year and a bit, oldest first, for the limits.
    package internal(set) var transfers: [TransferMark] = []

    package init(number: MemberNumber, enrolledAt: Timestamp, enrolledBy: PartnerID?, isClosed: Bool = false) {
        self.number = number
        self.enrolledAt = enrolledAt
        self.enrolledBy = enrolledBy
        self.isClosed = isClosed
        self.lots = []
        self.debts = []
        self.tierSince = enrolledAt
    }

    /// The member as loaded back: tier, qualifying days and transfer marks included.
    package init(
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
    package var balance: Int64 {
        var sum: Int64 = 0
        for lot in lots { sum &+= lot.points }
        for debt in debts { sum &+= debt.points }
        return sum
    }

    /// Points that can still be spent at `time`: lots not yet past their expiry.
    package func available(at time: Timestamp) -> Int64 {
        var sum: Int64 = 0
        for lot in lots where lot.expiresAt > time { sum &+= lot.points }
        return sum
    }

    /// The member's balance as shown at `time`: points alive then, less points owed. Points
    /// past their expiry are dead and not in it (`expiredPending(at:)`), whether or not
    /// `expire` has run.
    package func balance(at time: Timestamp) -> Int64 {
        var sum = available(at: time)
        for debt in debts { sum &+= debt.points }
        return sum
    }

    /// Points the member still holds past their expiry at `time`: dead, never spendable,
    /// their breakage pending until `expire` books it.
    package func expiredPending(at time: Timestamp) -> Int64 {
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
    package mutating func reserveLoaded(lots: Int, debts: Int, qualifying: Int, transfers: Int) {
        self.lots.reserveCapacity(lots)
        self.debts.reserveCapacity(debts)
        self.qualifying.reserveCapacity(qualifying)
        self.transfers.reserveCapacity(transfers)
    }

    /// Adds a lot (or debt) as the store holds it.
    package mutating func addLoaded(_ lot: Lot) {
        if lot.isDebt { debts.append(lot) } else { lots.append(lot) }
    }

    /// Adds a day of qualifying points as the store holds it.
    package mutating func addLoaded(_ day: QualifyingDay) {
        if day.points != 0 { qualifying.append(day) }
    }

    /// Adds a transfer mark, in journal order.
    package mutating func addLoaded(_ mark: TransferMark) { transfers.append(mark) }

    /// Puts what was loaded in the orders the engine keeps: lots by consumption, debts and
    /// qualifying days oldest first, transfer marks by time (journal order within an instant)
    /// and only those recent enough to count for a limit.
    package mutating func finishLoading() {
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

/// A transfer sent or received, remembered for the limits.
package struct TransferMark: Hashable, Sendable {
    package let at: Timestamp
    package let points: Int64
    package let sent: Bool

    package init(at: Timestamp, points: Int64, sent: Bool) {
        self.at = at
        self.points = points
        self.sent = sent
    }
}

extension MemberAccount {
    /// Remembers a transfer in time order; forgets those more than 400 days older than the
    /// newest.
    mutating func recordTransfer(_ mark: TransferMark) {
        var index = transfers.endIndex
        while index > transfers.startIndex && transfers[index - 1].at > mark.at { index -= 1 }
        transfers.insert(mark, at: index)
        transfers = MemberAccount.recent(transfers)
    }

    /// The marks of `sorted` (oldest first) within 400 days of the newest: more than any
    /// calendar-year limit looks at. Loading keeps the same ones, so a reopened ledger holds
    /// what the running one did.
    static func recent(_ sorted: [TransferMark]) -> [TransferMark] {
        guard let newest = sorted.last, let oldest = sorted.first else { return sorted }
        let horizon = newest.at.adding(days: -400)
        return oldest.at < horizon ? sorted.filter { $0.at >= horizon } : sorted
    }
}
