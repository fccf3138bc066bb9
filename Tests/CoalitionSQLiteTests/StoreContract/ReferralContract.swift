import CoalitionFiles
import CoalitionGeneration
import CoalitionKit
import CoalitionPostgreSQL
import CoalitionSQLite
import CoalitionTestSupport
import Foundation
import Testing

extension StoreContract {
    /// The demo partners under a network with a referral programme (coalition-funded from
    /// 2026-03-01), written to `directory`.
    static func referralNetwork(in directory: TemporaryDirectory) throws -> Network {
        let partners = (Fixtures.packageRoot as NSString).appendingPathComponent("partners")
        for name in try FileManager.default.contentsOfDirectory(atPath: partners)
        where name.hasSuffix(".json") && name != "network.json" {
            try FileManager.default.copyItem(
                atPath: (partners as NSString).appendingPathComponent(name),
                toPath: directory.file(name)
            )
        }
        try Data("00112233445566778899aabbccddeeff\n".utf8).write(to: URL(fileURLWithPath: directory.file("ref.key")))
        let network = """
            { "name": "referrals", "pointsLifetimeDays": 40, "timeZone": "UTC", "tierWindowDays": 365,
              "downgradePolicy": "one-tier", "tiers": [{ "name": "Blue", "qualifyingPoints": 0, "bonusPercent": 0 }],
              "transferLimits": { "minimum": 1, "step": 1, "maximumPerTransfer": 100000 },
              "clearing": { "feeBasisPoints": 10, "acceptedPastDays": 3650, "acceptedFutureMinutes": 15 },
              "referrals": { "codeKeyFile": "ref.key", "perReferrerPerYear": 5, "clawbackDays": 30,
                "terms": [
                  { "from": "2026-01-01", "referrerPoints": 300, "referredPoints": 200, "minimumEarnPoints": 50,
                    "funding": "earning-partner" },
                  { "from": "2026-03-01", "referrerPoints": 700, "referredPoints": 300, "minimumEarnPoints": 50,
                    "funding": "coalition" }
                ] } }
            """
        try Data(network.utf8).write(to: URL(fileURLWithPath: directory.file("network.json")))
        return try NetworkLoader.load(directory: directory.path)
    }

    /// Generated activity with referral links and bonuses: the links, the bonus state and the
    /// bonus lots come back the same from the tables and from the saved state, and audit is
    /// clean on both.
    func referralsRoundTrip() throws {
        let config = try TemporaryDirectory()
        defer { config.remove() }
        let network = try Self.referralNetwork(in: config)
        let place = try LedgerPlace(engine)
        defer { place.remove() }
        let activity = ActivityGenerator.generate(
            network: network,
            plan: ActivityGenerator.Plan(
                members: 120,
                records: 2_500,
                start: Fixtures.time("2026-02-15T00:00:00Z"),
                days: 50,
                seed: 22
            )
        )
        var before: StateImage
        do {
            let ledger = try Ledger(network: network, store: try place.create())
            try ledger.apply(activity.enrollments, info: Fixtures.info)
            for batch in Fixtures.batches(activity.activity, seed: 22) { try ledger.apply(batch, info: Fixtures.info) }
            _ = try ledger.expire(
                asOf: Fixtures.time("2026-04-10T00:00:00Z"),
                now: Fixtures.time("2026-04-10T00:00:00Z")
            )
            let links = ledger.state.referrals.links.values
            #expect(links.count > 10)
            #expect(links.contains { $0.bonusSeq != nil })
            #expect(ledger.outstanding(.coalition) > 0)
            before = StateImage(ledger.state)
            #expect(try Audit.run(ledger).problems == [])
        }
        // From the tables.
        do {
            let ledger = try Ledger(network: network, store: try place.open())
            #expect(StateImage(ledger.state) == before)
            #expect(try Audit.run(ledger).problems == [])
            try ledger.saveState()
        }
        // From the saved state (SQLite's state file, PostgreSQL's snapshot row).
        let store = try place.open()
        let ledger = try Ledger(network: network, store: store)
        #expect(StateImage(ledger.state) == before)
        #expect(try Audit.run(ledger).problems == [])
        if let sqlite = store as? SQLiteStore {
            #expect(sqlite.loadedFromStateFile)
            #expect(try sqlite.stateFileProblems(ledger.state) == [])
        }
        if let postgres = store as? PostgreSQLStore {
            #expect(try postgres.snapshotProblems(ledger.state) == [])
        }
    }
}
