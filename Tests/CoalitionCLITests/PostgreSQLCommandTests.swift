import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

@testable import CoalitionPostgreSQL

// The CLI with its ledger in PostgreSQL: `init --store`, then the day's commands unchanged.
// Runs only where COALITION_TEST_POSTGRESQL names a server (`bash .ci/postgres` starts one).
@Suite(
    "coalition on PostgreSQL: init --store, then every command opens the same ledger",
    .enabled(
        if: ProcessInfo.processInfo.environment["COALITION_TEST_POSTGRESQL"].map { !$0.isEmpty } ?? false,
        "COALITION_TEST_POSTGRESQL is not set: the PostgreSQL suites did not run. Run `bash .ci/postgres` (starts a throwaway PostgreSQL 15 and runs them), or set it to a libpq connection string of a server where the role may create databases"
    )
)
struct PostgreSQLCommandTests {
    let server = ProcessInfo.processInfo.environment["COALITION_TEST_POSTGRESQL"] ?? ""

    /// A new empty database on the test server, and its `postgresql://` URL (with a password
    /// added, which the server's trust authentication ignores and nothing may print).
    func makeDatabase() throws -> (name: String, url: String) {
        let name = "coalition_cli_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try Connection(conninfo: server).execute("CREATE DATABASE \(name)")
        var settings: [String: String] = [:]
        for pair in Connection.redacted(server).split(separator: " ") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { settings[String(parts[0])] = String(parts[1]) }
        }
        let user = settings["user"] ?? "postgres"
        var query = ["host", "port"].compactMap { key in settings[key].map { "\(key)=\($0)" } }.joined(separator: "&")
        query = query.replacingOccurrences(of: "/", with: "%2F")
        return (name, "postgresql://\(user):hunter2-secret@/\(name)?\(query)")
    }

    func dropDatabase(_ name: String) {
        _ = try? Connection(conninfo: server).execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// Copies the seed files into `data`'s inbox, each signed with its partner's demo key.
    func deliverSeeds(to data: String, work: WorkDirectory) throws {
        let seeds = CommandRunner.seedsDirectory
        for name in try FileManager.default.contentsOfDirectory(atPath: seeds) where name.hasSuffix(".csf") {
            let target = (data as NSString).appendingPathComponent("inbox/\(name)")
            try FileManager.default.copyItem(atPath: (seeds as NSString).appendingPathComponent(name), toPath: target)
            let header = String(decoding: try #require(FileManager.default.contents(atPath: target)), as: UTF8.self)
                .prefix { $0 != "\n" }
            let key = try #require(
                header.split(separator: "|").map { (data as NSString).appendingPathComponent("keys/\($0).key") }
                    .first { FileManager.default.fileExists(atPath: $0) }
            )
            let signed = try work.coalition("sign", target, "--key", key)
            try #require(signed.status == 0, "\(signed)")
        }
    }

    @Test("the seeds ingested, audited and cleared on PostgreSQL give SQLite's reports, and no password is printed")
    func sameAsSQLite() throws {
        let work = try WorkDirectory()
        defer { work.remove() }
        let (name, url) = try makeDatabase()
        defer { dropDatabase(name) }
        let postgres = work.file("pg")
        let sqlite = work.file("lite")
        let made = try work.coalition(
            "init",
            "--partners",
            CommandRunner.partnersDirectory,
            "--store",
            url,
            data: postgres
        )
        #expect(made.status == 0, "\(made)")
        #expect(made.stdout.contains("The ledger is in PostgreSQL: user="))
        #expect(!"\(made)".contains("hunter2-secret"))
        #expect(FileManager.default.fileExists(atPath: (postgres as NSString).appendingPathComponent("ledger.store")))
        #expect(!FileManager.default.fileExists(atPath: (postgres as NSString).appendingPathComponent("ledger.sqlite")))
        let attributes = try FileManager.default.attributesOfItem(
            atPath: (postgres as NSString).appendingPathComponent("ledger.store")
        )
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        // The same database again is LEDGER_EXISTS, and names the server without its password.
        let again = try work.coalition(
            "init",
            "--partners",
            CommandRunner.partnersDirectory,
            "--store",
            url,
            data: work.file("x")
        )
        #expect(again.status == 3, "\(again)")
        #expect(again.stderr.contains("LEDGER_EXISTS") && !again.stderr.contains("hunter2-secret"))
        let lite = try work.coalition("init", "--partners", CommandRunner.partnersDirectory, data: sqlite)
        #expect(lite.status == 0, "\(lite)")

        var outputs: [String: [String]] = [:]
        for data in [postgres, sqlite] {
            try deliverSeeds(to: data, work: work)
            let ingested = try work.coalition("ingest", data: data)
            #expect(ingested.status == 0, "\(ingested)")
            let audit = try work.coalition("audit", data: data)
            #expect(audit.status == 0 && audit.stdout.hasPrefix("audit: OK"), "\(audit)")
            let closed = try work.coalition("cycle", "close", "--through", "2026-11-30T00:00:00Z", data: data)
            #expect(closed.status == 0, "\(closed)")
            let shown = try work.coalition("cycle", "show", "1", "--json", data: data)
            let liability = try work.coalition("report", "liability", data: data)
            // Everything but the times the cycle was closed and the report made.
            outputs[data] = [
                shown.stdout.split(separator: "\n").filter { !$0.contains("\"closedAt\"") }.joined(separator: "\n"),
                liability.stdout.split(separator: "\n").dropFirst().joined(separator: "\n"),
            ]
            #expect(try work.coalition("audit", data: data).status == 0)
        }
        #expect(outputs[postgres] == outputs[sqlite])
        #expect(outputs[postgres]?.first?.contains("\"obligations\"") == true)
    }

    @Test("--store takes a PostgreSQL URL only; a server that cannot be reached leaves no directory and no password")
    func refusals() throws {
        let work = try WorkDirectory()
        defer { work.remove() }
        let data = work.file("data")
        let file = try work.coalition(
            "init",
            "--partners",
            CommandRunner.partnersDirectory,
            "--store",
            "ledger.db",
            data: data
        )
        #expect(file.status == 2, "\(file)")
        #expect(file.stderr.contains("USAGE"))
        let unreachable = try work.coalition(
            "init",
            "--partners",
            CommandRunner.partnersDirectory,
            "--store",
            "postgresql://clerk:hunter2-secret@127.0.0.1:1/ledger?connect_timeout=2",
            data: data
        )
        #expect(unreachable.status == 4, "\(unreachable)")
        #expect(unreachable.stderr.contains("STORE_FAILURE") && unreachable.stderr.contains("user=clerk"))
        #expect(!"\(unreachable)".contains("hunter2-secret"))
        #expect(!FileManager.default.fileExists(atPath: data))
    }
}
