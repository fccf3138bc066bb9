/// A UTC instant with one-second resolution: seconds since 1970-01-01T00:00:00Z.
///
/// Written and parsed only as `YYYY-MM-DDTHH:MM:SSZ` (and dates as `YYYY-MM-DD`, meaning the
/// start of that day in UTC), so a time reads the same in every file and report.
package struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    package var seconds: Int64

    package init(seconds: Int64) { self.seconds = seconds }

    package static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.seconds < rhs.seconds }

    package static let secondsPerDay: Int64 = 86_400

    package func adding(days: Int64) -> Timestamp { Timestamp(seconds: seconds + days * Timestamp.secondsPerDay) }
    package func adding(seconds delta: Int64) -> Timestamp { Timestamp(seconds: seconds + delta) }

    /// Years 1970 to 9999 only: wide enough for loyalty activity, narrow enough never to overflow.
    package init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) throws {
        guard (1970...9999).contains(year), (1...12).contains(month),
            (1...Timestamp.daysIn(month: month, year: year)).contains(day),
            (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second)
        else {
            throw CoalitionError(
                .badTime,
                "\(year)-\(month)-\(day) \(hour):\(minute):\(second) is not a valid UTC time"
            )
        }
        let days = Timestamp.daysFromCivil(year: year, month: month, day: day)
        seconds = days * Timestamp.secondsPerDay + Int64(hour * 3600 + minute * 60 + second)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SSZ`, or a bare `YYYY-MM-DD` when `allowingDate` is true.
    package init(parsing text: String, allowingDate: Bool = false) throws {
        var utf8 = Array(text.utf8)
        try self.init(utf8: &utf8, allowingDate: allowingDate, original: text)
    }

    /// Parses the ASCII bytes of a time; used by the settlement file reader.
    package init(bytes: UnsafeBufferPointer<UInt8>, allowingDate: Bool = false) throws {
        var utf8 = Array(bytes)
        try self.init(utf8: &utf8, allowingDate: allowingDate, original: nil)
    }

    private init(utf8 b: inout [UInt8], allowingDate: Bool, original: String?) throws {
        func fail() -> CoalitionError {
            let shown = original ?? String(decoding: b, as: UTF8.self)
            let expected = allowingDate ? "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ" : "YYYY-MM-DDTHH:MM:SSZ"
            return CoalitionError(.badTime, "'\(shown)' is not a UTC time of the form \(expected)")
        }
        func number(_ from: Int, _ count: Int) throws -> Int {
            var value = 0
            for i in from..<(from + count) {
                let digit = Int(b[i]) - 48
                guard digit >= 0 && digit <= 9 else { throw fail() }
                value = value * 10 + digit
            }
            return value
        }
        let isDate = b.count == 10
        guard b.count == 20 || (allowingDate && isDate) else { throw fail() }
        guard b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-") else { throw fail() }
        let year = try number(0, 4)
        let month = try number(5, 2)
        let day = try number(8, 2)
        if isDate {
            do { try self.init(year: year, month: month, day: day) } catch { throw fail() }
            return
        }
        guard b[10] == UInt8(ascii: "T"), b[13] == UInt8(ascii: ":"), b[16] == UInt8(ascii: ":"),
            b[19] == UInt8(ascii: "Z")
        else { throw fail() }
        do {
            try self.init(
                year: year,
                month: month,
                day: day,
                hour: try number(11, 2),
                minute: try number(14, 2),
                second: try number(17, 2)
            )
        } catch { throw fail() }
    }

    /// The civil date and time in UTC.
    package var components: (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        let days = seconds >= 0 ? seconds / Timestamp.secondsPerDay : (seconds - 86_399) / Timestamp.secondsPerDay
        let rest = Int(seconds - days * Timestamp.secondsPerDay)
        let (year, month, day) = Timestamp.civilFromDays(days)
        return (year, month, day, rest / 3600, rest / 60 % 60, rest % 60)
    }

    /// `2026-03-01T09:30:00Z`
    package var description: String {
        let c = components
        return "\(Timestamp.pad(c.year, 4))-\(Timestamp.pad(c.month))-\(Timestamp.pad(c.day))T"
            + "\(Timestamp.pad(c.hour)):\(Timestamp.pad(c.minute)):\(Timestamp.pad(c.second))Z"
    }

    /// `2026-03-01`
    package var date: String {
        let c = components
        return "\(Timestamp.pad(c.year, 4))-\(Timestamp.pad(c.month))-\(Timestamp.pad(c.day))"
    }

    /// The start of this instant's UTC day.
    package var startOfDay: Timestamp {
        Timestamp(
            seconds: seconds - ((seconds % Timestamp.secondsPerDay) + Timestamp.secondsPerDay) % Timestamp.secondsPerDay
        )
    }

    private static func pad(_ value: Int, _ width: Int = 2) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }

    static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's days_from_civil and civil_from_days.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ days: Int64) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }
}
