import CoalitionFiles
import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

/// Transfer limits per day count local days of the network's IANA time zone, so they follow
/// daylight saving; networks defined by a fixed offset keep loading and counting as before.
@Suite("Members: the network's time zone, across daylight saving changes")
struct TransferTimeZoneTests {
    static let amsterdam = TimeZone(identifier: "Europe/Amsterdam")!

    /// Two transfers of one member a day apart or not, under `network`: whether the second moves.
    func secondMoves(_ first: String, _ second: String, network: Network) throws -> Bool {
        var t = try TestLedger(network: network)
        var r = RecordMaker()
        for index in 1...2 {
            try t.accept(r.enroll(Fixtures.member(index), at: Fixtures.skyways, "2026-01-02T00:00:00Z"))
        }
        try t.accept(r.earn(Fixtures.member(1), 200_000, at: Fixtures.skyways, "2026-01-05T00:00:00Z"))
        try t.transfer(Fixtures.member(1), Fixtures.member(2), 100, first)
        do {
            try t.transfer(Fixtures.member(1), Fixtures.member(2), 100, second)
            return true
        } catch let error as CoalitionError where error.code == .transferLimitExceeded {
            #expect(error.message.hasPrefix("transfers per day:"), "\(error)")
            return false
        }
    }

    func network(zone: TimeZone?, offsetMinutes: Int64 = 0) -> Network {
        let base = MemberNetworks.make(
            utcOffsetMinutes: offsetMinutes,
            limits: MemberNetworks.limits(transfersPerDay: 1)
        )
        return Network(
            name: base.name,
            pointsLifetimeDays: base.pointsLifetimeDays,
            utcOffsetMinutes: offsetMinutes,
            tiers: base.tiers,
            tierWindowDays: base.tierWindowDays,
            downgradePolicy: base.downgradePolicy,
            transferLimits: base.transferLimits,
            clearing: base.clearing,
            partners: base.sortedPartners,
            timeZone: zone
        )
    }

    @Test(
        "a daily cap counts Amsterdam's days: the spring and autumn changes move midnight in UTC",
        arguments: [
            // Spring, 2026-03-29 01:00Z: CET (+1) to CEST (+2). 22:30Z that evening is 00:30
            // on the 30th in Amsterdam: a new day. A fixed +1 calls it 23:30 on the 29th.
            ("2026-03-29T00:30:00Z", "2026-03-29T22:30:00Z", true, false),
            // Winter, both in CET: the zone and the fixed +1 agree that 22:59Z and 23:00Z
            // are either side of midnight.
            ("2026-01-15T22:59:00Z", "2026-01-15T23:00:00Z", true, true),
            // Autumn, 2026-10-25 01:00Z: CEST (+2) to CET (+1). 22:30Z on the 24th is 00:30
            // on the 25th in Amsterdam, and 22:30Z on the 25th is 23:30 the same day. A fixed
            // +1 puts the first on the 24th.
            ("2026-10-24T22:30:00Z", "2026-10-25T22:30:00Z", false, true),
            // Summer time, both in CEST: 21:59Z and 22:00Z are either side of midnight.
            ("2026-07-01T21:59:00Z", "2026-07-01T22:00:00Z", true, false),
        ] as [(String, String, Bool, Bool)]
    )
    func dailyCapAcrossDST(first: String, second: String, inAmsterdam: Bool, atFixedPlusOne: Bool) throws {
        #expect(try secondMoves(first, second, network: network(zone: Self.amsterdam)) == inAmsterdam)
        #expect(try secondMoves(first, second, network: network(zone: nil, offsetMinutes: 60)) == atFixedPlusOne)
    }

    @Test("network.json takes an IANA name; a fixed offset still loads; both, neither or an unknown name do not")
    func loads() throws {
        let named = try NetworkLoaderTests.brokenCopy("network.json") {
            $0["timeZone"] = "Europe/Amsterdam"
            $0["utcOffsetMinutes"] = nil
        }
        defer { named.remove() }
        let network = try NetworkLoader.load(directory: named.path)
        #expect(network.timeZone.identifier == "Europe/Amsterdam")
        let old = try NetworkLoaderTests.brokenCopy("network.json") {
            $0["timeZone"] = nil
            $0["utcOffsetMinutes"] = -300
        }
        defer { old.remove() }
        let fixed = try NetworkLoader.load(directory: old.path)
        #expect(fixed.utcOffsetMinutes == -300)
        #expect(fixed.timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: 1_790_000_000)) == -300 * 60)
        #expect(fixed.timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: 1_800_000_000)) == -300 * 60)
        for (edit, field) in [
            (
                { (o: inout [String: Any]) in
                    o["timeZone"] = "UTC"
                    o["utcOffsetMinutes"] = 0
                }, "utcOffsetMinutes"
            ),
            (
                { (o: inout [String: Any]) in
                    o["timeZone"] = nil
                    o["utcOffsetMinutes"] = nil
                }, "timeZone"
            ),
            ({ (o: inout [String: Any]) in o["timeZone"] = "Mars/Olympus_Mons" }, "timeZone"),
            ({ (o: inout [String: Any]) in o["timeZone"] = "+01:00" }, "timeZone"),
        ] as [((inout [String: Any]) -> Void, String)] {
            NetworkLoaderTests.expectFault(
                try NetworkLoaderTests.brokenCopy("network.json", edit),
                .badConfig,
                file: "network.json",
                field: field
            )
        }
    }
}
