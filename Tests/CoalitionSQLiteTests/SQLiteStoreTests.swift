import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

@testable import CoalitionSQLite

@Suite("SQLiteStore: durable state, atomic batches, tamper evidence, refusals")
struct SQLiteStoreTests {
    let skyways = try! PartnerID("SKYWAYS")
    let harbor = try! PartnerID("HARBOR")
    let alice = try! MemberNumber.withCheckDigit(900_000_001)

    func key(_ partner: PartnerID, _ id: String) -> RecordKey { try! RecordKey(partner: partner, recordID: id) }

    /// A new ledger in `directory` with the seeded activity applied in varying batches.
    func makeLedger(in directory: TemporaryDirectory, seed: UInt64) throws -> (Ledger, SQLiteStore) {
        let store = try SQLiteStore(path: directory.ledgerPath, create: true)
        let ledger = try Ledger(network: Fixtures.network, store: store)
        for batch in Fixtures.batches(Fixtures.activity(seed: seed), seed: seed) {
            try ledger.apply(batch, info: Fixtures.info)
        }
        return (ledger, store)
    }

    @Test("opening where there is no ledger is NO_LEDGER, and creates nothing")
    func noLedger() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let error = expectError(.noLedger) { try SQLiteStore(path: directory.ledgerPath) }
        #expect(error?.place.file == directory.ledgerPath)
        #expect(directory.listing == [])
    }

    @Test("a SQLite file of another application is NOT_A_LEDGER and left untouched")
    func notALedger() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("other.db")
        try RawSQLite.execute(
            "PRAGMA application_id = 1234; CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine')",
            at: path
        )
        let bytes = try #require(contents(path))
        let listing = directory.listing
        let error = expectError(.notALedger) { try SQLiteStore(path: path) }
        #expect(error?.place.file == path)
        #expect(contents(path) == bytes)
        #expect(directory.listing == listing)
        // Nor does creating a ledger there overwrite it.
        expectError(.ledgerExists) { try SQLiteStore(path: path, create: true) }
        #expect(contents(path) == bytes)
    }

    @Test("an empty file or one that is not SQLite at all is NOT_A_LEDGER and left untouched")
    func notSQLite() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for (name, text) in [
            ("empty.db", ""), ("text.db", "name,points\nalice,100\n" + String(repeating: "x", count: 600)),
        ] {
            let path = directory.file(name)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            let listing = directory.listing
            expectError(.notALedger) { try SQLiteStore(path: path) }
            #expect(contents(path) == Data(text.utf8))
            #expect(directory.listing == listing)
        }
    }

    @Test("a ledger from a newer schema is NEWER_SCHEMA and left untouched")
    func newerSchema() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        do { _ = try makeLedger(in: directory, seed: 41) }
        try RawSQLite.execute("PRAGMA user_version = 99", at: directory.ledgerPath)
        let bytes = try #require(contents(directory.ledgerPath))
        let listing = directory.listing
        let error = expectError(.newerSchema) { try SQLiteStore(path: directory.ledgerPath) }
        #expect(error?.message.contains("99") == true)
        #expect(contents(directory.ledgerPath) == bytes)
        #expect(directory.listing == listing)
        // The version it knows opens as ever.
        try RawSQLite.execute("PRAGMA user_version = \(Schema.migrations.count)", at: directory.ledgerPath)
        let ledger = try Ledger(network: Fixtures.network, store: try SQLiteStore(path: directory.ledgerPath))
        #expect(try Audit.run(ledger).isClean)
    }

    @Test("a version-1 ledger, its reversed units in the postings table, opens migrated as a new one would be")
    func migratesReversedUnits() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (ledger, store) = try makeLedger(in: directory, seed: 43)
        let image = StateImage(ledger.state)
        let dump = try store.contentDump()
        let section = try #require(dump.components(separatedBy: "== reversed\n").dropFirst().first)
        let reversed = section.split(separator: "\n").prefix { !$0.hasPrefix("== ") }.count
        #expect(reversed > 5)  // records reversed in part or whole
        // Back to version 1: the units in the postings table, no table of their own.
        try RawSQLite.execute(
            """
            UPDATE postings SET reversed_units = (SELECT units FROM reversed WHERE reversed.seq = postings.seq)
            WHERE seq IN (SELECT seq FROM reversed);
            DROP TABLE reversed;
            DROP TABLE referrals;
            DROP TABLE webhook_events;
            PRAGMA user_version = 1;
            """,
            at: directory.ledgerPath
        )
        let migrated = try SQLiteStore(path: directory.ledgerPath)
        #expect(try migrated.contentDump() == dump)
        let reopened = try Ledger(network: Fixtures.network, store: migrated)
        #expect(StateImage(reopened.state) == image)
        #expect(try Audit.run(reopened).isClean)
    }

    /// The page size in a SQLite file's header: big-endian at offset 16, 1 meaning 65,536.
    func pageSize(_ path: String) throws -> Int {
        let header = try #require(contents(path)?.prefix(18))
        let size = Int(header[16]) << 8 | Int(header[17])
        return size == 1 ? 65_536 : size
    }

    @Test("a new ledger has 16 KiB pages; one made with 4 KiB pages keeps them and ends as a new one does")
    func pageSizes() throws {
        let batches = Fixtures.batches(Fixtures.activity(seed: 45, members: 80, records: 1_500), seed: 45)
        let half = batches.count / 2
        let fresh = try TemporaryDirectory()
        defer { fresh.remove() }
        let dump: String
        do {
            let store = try SQLiteStore(path: fresh.ledgerPath, create: true)
            let ledger = try Ledger(network: Fixtures.network, store: store)
            for batch in batches { try ledger.apply(batch, info: Fixtures.info) }
            dump = try store.contentDump()
        }
        #expect(try pageSize(fresh.ledgerPath) == 16_384)

        let old = try TemporaryDirectory()
        defer { old.remove() }
        do {
            let ledger = try Ledger(
                network: Fixtures.network,
                store: try SQLiteStore(path: old.ledgerPath, create: true)
            )
            for batch in batches[..<half] { try ledger.apply(batch, info: Fixtures.info) }
        }
        // As SQLite's default made it: a page size changes only by rewriting the file.
        try RawSQLite.execute(
            "PRAGMA journal_mode = DELETE; PRAGMA page_size = 4096; VACUUM; PRAGMA journal_mode = WAL",
            at: old.ledgerPath
        )
        #expect(try pageSize(old.ledgerPath) == 4_096)
        do {
            let store = try SQLiteStore(path: old.ledgerPath)
            let ledger = try Ledger(network: Fixtures.network, store: store)
            for batch in batches[half...] { try ledger.apply(batch, info: Fixtures.info) }
            #expect(try store.contentDump() == dump)
            #expect(try Audit.run(ledger).isClean)
        }
        #expect(try pageSize(old.ledgerPath) == 4_096)
    }

    @Test("creating a ledger where one exists is LEDGER_EXISTS, and the ledger is untouched")
    func ledgerExists() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (ledger, store) = try makeLedger(in: directory, seed: 51)
        let dump = try store.contentDump()
        expectError(.ledgerExists) { try SQLiteStore(path: directory.ledgerPath, create: true) }
        #expect(try store.contentDump() == dump)
        #expect(try Audit.run(ledger).isClean)
    }

    @Test("SQLite keeps no memory statistics, so no global mutex is taken for each allocation")
    func noMemoryStatistics() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (ledger, _) = try makeLedger(in: directory, seed: 3)
        #expect(ledger.state.lastSeq > 100)
        #expect(RawSQLite.memoryUsed == 0)
    }
}
