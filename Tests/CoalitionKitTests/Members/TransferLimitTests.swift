import CoalitionKit
import CoalitionTestSupport
import Testing

@Suite("Members: every transfer limit at and around its boundary")
struct TransferLimitTests {
    /// One transfer of a case and what must become of it: moved, or refused naming `limit`.
    struct Step: Sendable {
        let from: Int
        let to: Int
        let points: Int64
        let at: String
        /// nil: the transfer moves; else the words the TRANSFER_LIMIT_EXCEEDED message starts with.
        let limit: String?

        static func ok(_ points: Int64, at: String, from: Int = 1, to: Int = 2) -> Step {
            Step(from: from, to: to, points: points, at: at, limit: nil)
        }

        static func refused(_ points: Int64, at: String, _ limit: String, from: Int = 1, to: Int = 2) -> Step {
            Step(from: from, to: to, points: points, at: at, limit: limit)
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let utcOffsetMinutes: Int64
        let limits: TransferLimits
        let steps: [Step]

        var testDescription: String { "\(name) (UTC\(utcOffsetMinutes >= 0 ? "+" : "")\(utcOffsetMinutes) min)" }
    }

    static let cases: [Case] = [
        Case(
            name: "minimum",
            utcOffsetMinutes: 0,
            limits: MemberNetworks.limits(minimum: 1_000),
            steps: [
                .refused(999, at: "2026-03-01T00:00:00Z", "minimum"),
                .refused(1, at: "2026-03-01T00:00:00Z", "minimum"),
                .ok(1_000, at: "2026-03-01T00:00:00Z"),
                .ok(1_001, at: "2026-03-01T00:00:00Z"),
            ]
        ),
        Case(
            name: "step",
            utcOffsetMinutes: 0,
            limits: MemberNetworks.limits(minimum: 1_000, step: 100),
            steps: [
                .refused(1_050, at: "2026-03-01T00:00:00Z", "step"),
                .refused(1_001, at: "2026-03-01T00:00:00Z", "step"),
                .refused(900, at: "2026-03-01T00:00:00Z", "minimum"),
                .ok(1_000, at: "2026-03-01T00:00:00Z"),
                .ok(1_100, at: "2026-03-01T00:00:00Z"),
            ]
        ),
        Case(
            name: "maximum per transfer",
            utcOffsetMinutes: 0,
            limits: MemberNetworks.limits(maximumPerTransfer: 5_000),
            steps: [
                .refused(5_001, at: "2026-03-01T00:00:00Z", "maximum per transfer"),
                .ok(5_000, at: "2026-03-01T00:00:00Z"),
                .ok(4_999, at: "2026-03-01T00:00:00Z"),
            ]
        ),
        Case(
            // Local time is an hour ahead: 2026-12-31T23:00:00Z is already 2027 there.
            name: "points sent per year",
            utcOffsetMinutes: 60,
            limits: MemberNetworks.limits(sentPerYear: 3_000),
            steps: [
                .ok(2_000, at: "2026-06-01T00:00:00Z"),
                .refused(1_001, at: "2026-06-02T00:00:00Z", "points sent per year"),
                .ok(1_000, at: "2026-06-02T00:00:00Z", to: 3),
                .refused(1, at: "2026-12-31T22:59:59Z", "points sent per year"),
                .ok(3_000, at: "2026-12-31T23:00:00Z"),
                .refused(1, at: "2027-01-01T05:00:00Z", "points sent per year", to: 3),
                // What bob received is not what he sent.
                .ok(3_000, at: "2027-01-01T06:00:00Z", from: 2, to: 1),
            ]
        ),
        Case(
            // Local time is two hours behind: 2027-01-01T01:59:59Z is still 2026 there.
            name: "points received per year",
            utcOffsetMinutes: -120,
            limits: MemberNetworks.limits(receivedPerYear: 3_000),
            steps: [
                .ok(2_000, at: "2026-05-01T00:00:00Z"),
                .refused(1_001, at: "2026-05-02T00:00:00Z", "points received per year", from: 3),
                .ok(1_000, at: "2026-05-02T00:00:00Z", from: 3),
                .refused(1, at: "2027-01-01T01:59:59Z", "points received per year"),
                .ok(3_000, at: "2027-01-01T02:00:00Z"),
                .refused(1, at: "2027-01-01T03:00:00Z", "points received per year", from: 3),
                // Others still receive.
                .ok(3_000, at: "2027-01-01T03:00:00Z", from: 3, to: 4),
            ]
        ),
        Case(
            name: "transfers per day",
            utcOffsetMinutes: 0,
            limits: MemberNetworks.limits(transfersPerDay: 2),
            steps: [
                .ok(100, at: "2026-06-01T00:00:00Z"),
                .ok(100, at: "2026-06-01T23:59:58Z", to: 3),
                .refused(100, at: "2026-06-01T23:59:59Z", "transfers per day"),
                // Received transfers do not count: bob has sent none today.
                .ok(100, at: "2026-06-01T23:59:59Z", from: 2, to: 1),
                .ok(100, at: "2026-06-02T00:00:00Z"),
            ]
        ),
        Case(
            // An hour ahead: 22:30Z and 23:10Z are on different local days.
            name: "transfers per day across midnight",
            utcOffsetMinutes: 60,
            limits: MemberNetworks.limits(transfersPerDay: 1),
            steps: [
                .ok(100, at: "2026-06-01T22:30:00Z"),
                .ok(100, at: "2026-06-01T23:10:00Z"),
                .refused(100, at: "2026-06-01T23:50:00Z", "transfers per day"),
                .refused(100, at: "2026-06-02T22:59:59Z", "transfers per day"),
                .ok(100, at: "2026-06-02T23:00:00Z"),
            ]
        ),
        Case(
            // The same times in UTC: 22:30Z and 23:10Z are one day.
            name: "transfers per day across midnight",
            utcOffsetMinutes: 0,
            limits: MemberNetworks.limits(transfersPerDay: 1),
            steps: [
                .ok(100, at: "2026-06-01T22:30:00Z"),
                .refused(100, at: "2026-06-01T23:10:00Z", "transfers per day"),
                .refused(100, at: "2026-06-01T23:59:59Z", "transfers per day"),
                .ok(100, at: "2026-06-02T00:00:00Z"),
            ]
        ),
        Case(
            // An hour behind: 2026-07-01T00:30:00Z is still June there.
            name: "transfers per month",
            utcOffsetMinutes: -60,
            limits: MemberNetworks.limits(transfersPerMonth: 2),
            steps: [
                .ok(100, at: "2026-06-01T00:30:00Z"),  // still May there
                .ok(100, at: "2026-06-01T01:00:00Z"),
                .ok(100, at: "2026-06-30T12:00:00Z"),
                .refused(100, at: "2026-07-01T00:30:00Z", "transfers per month"),
                .ok(100, at: "2026-07-01T01:00:00Z"),
                .ok(100, at: "2026-07-31T00:00:00Z"),
                .refused(100, at: "2026-08-01T00:59:59Z", "transfers per month"),
            ]
        ),
        Case(
            name: "transfers per year",
            utcOffsetMinutes: 60,
            limits: MemberNetworks.limits(transfersPerYear: 3),
            steps: [
                .ok(100, at: "2026-02-01T00:00:00Z"),
                .ok(100, at: "2026-05-01T00:00:00Z"),
                .ok(100, at: "2026-09-01T00:00:00Z"),
                .refused(100, at: "2026-12-31T22:59:59Z", "transfers per year"),
                .ok(100, at: "2026-12-31T23:00:00Z"),
                .ok(100, at: "2027-03-01T00:00:00Z"),
                .ok(100, at: "2027-04-01T00:00:00Z"),
                .refused(100, at: "2027-05-01T00:00:00Z", "transfers per year"),
            ]
        ),
    ]

    @Test("each limit moves at its boundary and refuses past it, naming the limit", arguments: cases)
    func boundary(_ run: Case) throws {
        let network = MemberNetworks.make(utcOffsetMinutes: run.utcOffsetMinutes, limits: run.limits)
        var t = try TestLedger(network: network)
        var r = RecordMaker()
        let skyways = Fixtures.skyways
        for index in 1...4 {
            try t.accept(r.enroll(Fixtures.member(index), at: skyways, "2026-01-02T00:00:00Z"))
        }
        for index in [1, 3] {
            try t.accept(r.earn(Fixtures.member(index), 200_000, at: skyways, "2026-01-05T00:00:00Z"))
        }
        var moved = 0
        for (number, step) in run.steps.enumerated() {
            let from = Fixtures.member(step.from)
            let to = Fixtures.member(step.to)
            if let limit = step.limit {
                let error = t.refuseTransfer(from, to, step.points, step.at, .transferLimitExceeded)
                #expect(
                    error?.message.hasPrefix(limit + ":") == true,
                    "step \(number): \(String(describing: error)) does not name \(limit)"
                )
            } else {
                let senderBefore = t.balance(from)
                let receiverBefore = t.balance(to)
                let result = try t.transfer(from, to, step.points, step.at)
                #expect(!result.isReplay, "step \(number)")
                #expect(t.balance(from) == senderBefore - step.points, "step \(number)")
                #expect(t.balance(to) == receiverBefore + step.points, "step \(number)")
                moved += 1
            }
        }
        #expect(moved == run.steps.filter { $0.limit == nil }.count)
        #expect(t.store.content.postings.filter { $0.kind == .transfer }.count == moved)
        try t.checkEverything()
    }
}
