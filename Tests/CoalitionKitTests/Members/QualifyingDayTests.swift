import Testing

@testable import CoalitionKit

@Suite("Qualifying days: a member's points per day, in order, as a model of them says")
struct QualifyingDayTests {
    @Test("generated additions, on new days, the newest, older ones and ones that cancel, keep the days a model keeps")
    func matchesAModel() throws {
        var random = SeededGenerator(seed: 0x0DA7)
        for round in 0..<200 {
            var account = MemberAccount(
                number: MemberNumber(trusted: 1_000 + UInt64(round)),
                enrolledAt: Timestamp(seconds: 0),
                enrolledBy: nil
            )
            var model: [Int64: Int64] = [:]
            var newest: Int64 = 20_000
            for _ in 0..<Int(random.next() % 120) {
                // Mostly the newest day or a later one; sometimes an older day, or back to zero.
                switch random.next() % 10 {
                case 0..<5: break
                case 5..<8: newest += Int64(random.next() % 3)
                default: newest -= Int64(random.next() % 30)
                }
                let day = newest
                let points: Int64
                if random.next() % 6 == 0, let held = model[day] {
                    points = -held
                } else {
                    points = Int64(random.next() % 2_000) - 400
                }
                let time = Timestamp(seconds: day * Timestamp.secondsPerDay + Int64(random.next() % 86_400))
                let now = account.addQualifying(points, at: time)
                let expected = (model[day] ?? 0) + points
                model[day] = expected == 0 ? nil : expected
                #expect(now == expected, "round \(round), day \(day)")
            }
            let days = model.sorted { $0.key < $1.key }.map { QualifyingDay(day: $0.key, points: $0.value) }
            #expect(account.qualifying == days, "round \(round)")
            let last = newest + Int64(random.next() % 5)
            let window = Int64(1 + random.next() % 60)
            let inWindow = model.filter { $0.key > last - window && $0.key <= last }.values.reduce(0, +)
            let at = Timestamp(seconds: last * Timestamp.secondsPerDay)
            #expect(account.qualifyingPoints(at: at, windowDays: window) == inWindow)
        }
    }
}
