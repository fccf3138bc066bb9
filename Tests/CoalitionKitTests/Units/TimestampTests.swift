import CoalitionKit
import CoalitionTestSupport
import Testing

@Suite("Timestamp: UTC instants written one way only")
struct TimestampTests {
    @Test("format and parse round-trip for generated instants from 1970 to 9999")
    func roundTrip() throws {
        var random = SeededGenerator(seed: 0x7131)
        let last = try Timestamp(parsing: "9999-12-31T23:59:59Z").seconds
        #expect(last == 253_402_300_799)
        var samples: [Int64] = [0, 1, 86_399, 86_400, 951_782_400, 951_868_800, last - 1, last]
        for _ in 0..<20_000 { samples.append(Int64.random(in: 0...last, using: &random)) }
        for seconds in samples {
            let time = Timestamp(seconds: seconds)
            let text = time.description
            #expect(text.utf8.count == 20, "\(seconds) → \(text)")
            let parsed = try Timestamp(parsing: text)
            #expect(parsed == time, "\(seconds) → \(text)")
            let c = time.components
            let rebuilt = try Timestamp(
                year: c.year,
                month: c.month,
                day: c.day,
                hour: c.hour,
                minute: c.minute,
                second: c.second
            )
            #expect(rebuilt == time)
            #expect(try Timestamp(parsing: time.date, allowingDate: true) == time.startOfDay)
            #expect(time.startOfDay.seconds % Timestamp.secondsPerDay == 0)
            #expect(time.startOfDay <= time && time.seconds - time.startOfDay.seconds < Timestamp.secondsPerDay)
        }
    }

    @Test(
        "known instants",
        arguments: [
            ("1970-01-01T00:00:00Z", 0), ("2000-02-29T12:00:00Z", 951_825_600), ("2026-03-01T09:30:00Z", 1_772_357_400),
            ("2100-03-01T00:00:00Z", 4_107_542_400), ("2024-12-31T23:59:59Z", 1_735_689_599),
        ] as [(String, Int64)]
    )
    func known(text: String, seconds: Int64) throws {
        #expect(try Timestamp(parsing: text).seconds == seconds)
        #expect(Timestamp(seconds: seconds).description == text)
    }

    @Test("consecutive days step by exactly one day across months, leap days and years")
    func consecutiveDays() throws {
        var time = try Timestamp(parsing: "1999-12-01T00:00:00Z")
        var previous = time.components
        for _ in 0..<(365 * 6) {
            time = time.adding(days: 1)
            let c = time.components
            let nextDay = c.day == previous.day + 1 && c.month == previous.month && c.year == previous.year
            let nextMonth = c.day == 1 && (c.month == previous.month + 1 || (c.month == 1 && previous.month == 12))
            #expect(nextDay || nextMonth, "\(time)")
            previous = c
        }
    }

    @Test(
        "not a valid UTC time: BAD_TIME",
        arguments: [
            "2026-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z",
            "2026-00-10T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z",
            "2026-01-01T23:59:60Z", "2026-01-01T00:00:00", "2026-01-01T00:00:00+00:00", "2026-01-01 00:00:00Z",
            "2026-01-01t00:00:00Z", "2026-01-01T00:00:00z", "1969-12-31T23:59:59Z", "+026-01-01T00:00:00Z",
            "2026-1-01T00:00:00Z", "", "2026-01-01", "2026/01/01T00:00:00Z", "2026-01-01T00:00:0Z ",
        ]
    )
    func invalid(text: String) {
        let error = expectError(.badTime) { try Timestamp(parsing: text) }
        #expect(error?.message.contains("'\(text)'") == true)
    }

    @Test("a bare date only where dates are allowed")
    func bareDates() throws {
        #expect(try Timestamp(parsing: "2026-03-01", allowingDate: true) == Timestamp(parsing: "2026-03-01T00:00:00Z"))
        expectError(.badTime) { try Timestamp(parsing: "2026-02-29", allowingDate: true) }
        expectError(.badTime) { try Timestamp(parsing: "2026-3-01", allowingDate: true) }
        expectError(.badTime) { try Timestamp(parsing: "2026-03-01") }
    }

    @Test("components out of range are BAD_TIME")
    func badComponents() {
        expectError(.badTime) { try Timestamp(year: 10_000, month: 1, day: 1) }
        expectError(.badTime) { try Timestamp(year: 2024, month: 2, day: 30) }
        expectError(.badTime) { try Timestamp(year: 2024, month: 2, day: 1, hour: -1) }
    }

    @Test("parses from bytes as from text")
    func bytes() throws {
        let text = Array("2026-03-01T09:30:00Z".utf8)
        let time = try text.withUnsafeBufferPointer { try Timestamp(bytes: $0) }
        #expect(time == Timestamp(seconds: 1_772_357_400))
        let bad = Array("2026-02-30T09:30:00Z".utf8)
        expectError(.badTime) { try bad.withUnsafeBufferPointer { try Timestamp(bytes: $0) } }
    }
}
