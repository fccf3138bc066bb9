/// Points a member earned on one UTC day: what tiers qualify on. Transfers in and tier
/// bonuses never count; reversals of earns take their points back from the day earned.
package struct QualifyingDay: Hashable, Sendable {
    /// Days since 1970-01-01 (UTC).
    package let day: Int64
    package var points: Int64

    package init(day: Int64, points: Int64) {
        self.day = day
        self.points = points
    }

    package static func day(of time: Timestamp) -> Int64 {
        time.seconds >= 0 ? time.seconds / Timestamp.secondsPerDay : (time.seconds - 86_399) / Timestamp.secondsPerDay
    }
}

/// A change of a member's tier, kept with its reason.
package struct TierChange: Hashable, Sendable {
    package let member: MemberNumber
    package let at: Timestamp
    package let from: String
    package let to: String
    package let reason: String

    package init(member: MemberNumber, at: Timestamp, from: String, to: String, reason: String) {
        self.member = member
        self.at = at
        self.from = from
        self.to = to
        self.reason = reason
    }
}

extension MemberAccount {
    /// Points earned in the `windowDays` days up to and including `time`'s day.
    package func qualifyingPoints(at time: Timestamp, windowDays: Int64) -> Int64 {
        let last = QualifyingDay.day(of: time)
        let first = last - windowDays + 1
        var sum: Int64 = 0
        // Oldest first: walk back from the newest day to the window's first.
        for entry in qualifying.reversed() {
            if entry.day < first { break }
            if entry.day <= last { sum += entry.points }
        }
        return sum
    }

    /// Adds `points` (negative for a reversal) to `time`'s day. Days that come to zero are
    /// dropped, so memory and the store (which keeps only non-zero days) always agree.
    /// Gives the day's points as they now stand.
    @discardableResult
    mutating func addQualifying(_ points: Int64, at time: Timestamp) -> Int64 {
        let day = QualifyingDay.day(of: time)
        // Days are in order, and most records fall on the newest: walk back only past the
        // later days, not through every day the member ever had.
        var index = qualifying.endIndex
        while index > qualifying.startIndex && qualifying[index - 1].day > day { index -= 1 }
        if index > qualifying.startIndex && qualifying[index - 1].day == day {
            qualifying[index - 1].points += points
            let now = qualifying[index - 1].points
            if now == 0 { qualifying.remove(at: index - 1) }
            return now
        }
        if points != 0 { qualifying.insert(QualifyingDay(day: day, points: points), at: index) }
        return points
    }
}
