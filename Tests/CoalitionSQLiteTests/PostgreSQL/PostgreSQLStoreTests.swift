import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

@testable import CoalitionPostgreSQL

// What only the PostgreSQL store does: its refusals, and connection strings kept out of
// messages. Runs only where COALITION_TEST_POSTGRESQL names a server (`bash .ci/postgres`).
@Suite(
    "PostgreSQLStore: refusals, schema versions, connection strings",
    .enabled(if: StoreEngine.isPostgreSQLConfigured, StoreEngine.howToRunPostgreSQL)
)
struct PostgreSQLStoreTests {
    @Test("opening an empty database is NO_LEDGER and creates nothing")
    func noLedger() throws {
        let place = try LedgerPlace(.postgresql)
        defer { place.remove() }
        expectError(.noLedger) { try place.open() }
        // Still empty: creating a ledger there works.
        let ledger = try Ledger(network: Fixtures.network, store: try place.create())
        #expect(ledger.state.lastSeq == 0)
    }

    @Test("a database with another application's tables is NOT_A_LEDGER, opened or created, and left untouched")
    func notALedger() throws {
        let place = try LedgerPlace(.postgresql)
        defer { place.remove() }
        try place.executeRaw("CREATE TABLE notes (text text); INSERT INTO notes VALUES ('mine')")
        expectError(.notALedger) { try place.open() }
        expectError(.notALedger) { try place.create() }
        let dump = try PostgreSQLStoreTests.dump(place)
        #expect(dump == "notes: mine\n")
    }

    /// The rows of `notes`, with nothing of ours beside them.
    static func dump(_ place: LedgerPlace) throws -> String {
        // A store cannot be opened here, so a connection of the test's own reads the table.
        let server = try #require(StoreEngine.postgreSQLServer)
        let connection = try Connection(conninfo: server, overrides: [("dbname", place.databaseNameForTesting)])
        let tables = try connection.query(
            "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = current_schema()"
        )
        let rows = try connection.query("SELECT text FROM notes")
        return "\(tables.string(0, 0)): \((0..<rows.count).map { rows.string($0, 0) }.joined(separator: ","))\n"
    }

    @Test("a ledger from a newer schema, or with another application id, is refused and left untouched")
    func newerSchema() throws {
        let place = try LedgerPlace(.postgresql)
        defer { place.remove() }
        do {
            let ledger = try Ledger(network: Fixtures.network, store: try place.create())
            try ledger.apply(Fixtures.activity(seed: 3, members: 10, records: 100), info: Fixtures.info)
        }
        let dump = try place.open().contentDump()
        try place.executeRaw("UPDATE coalition_meta SET value = 99 WHERE name = 'schema_version'")
        let error = expectError(.newerSchema) { try place.open() }
        #expect(error?.message.contains("99") == true)
        try place.executeRaw(
            "UPDATE coalition_meta SET value = \(Schema.migrations.count) WHERE name = 'schema_version'"
        )
        #expect(try place.open().contentDump() == dump)
        try place.executeRaw("UPDATE coalition_meta SET value = 1234 WHERE name = 'application_id'")
        expectError(.notALedger) { try place.open() }
        try place.executeRaw("UPDATE coalition_meta SET value = \(Schema.applicationID) WHERE name = 'application_id'")
        let ledger = try Ledger(network: Fixtures.network, store: try place.open())
        #expect(try Audit.run(ledger).isClean)
    }

    @Test("creating a ledger where one exists is LEDGER_EXISTS, and the ledger is untouched")
    func ledgerExists() throws {
        let place = try LedgerPlace(.postgresql)
        defer { place.remove() }
        let ledger = try Ledger(network: Fixtures.network, store: try place.create())
        try ledger.apply(Fixtures.activity(seed: 4, members: 10, records: 100), info: Fixtures.info)
        let dump = try place.open().contentDump()
        expectError(.ledgerExists) { try place.create() }
        #expect(try place.open().contentDump() == dump)
    }

    @Test("a second process that wrote since this one loaded makes its next batch fail, writing nothing")
    func staleWriter() throws {
        let place = try LedgerPlace(.postgresql)
        defer { place.remove() }
        let records = Fixtures.activity(seed: 6, members: 20, records: 300)
        let first = try Ledger(network: Fixtures.network, store: try place.create())
        try first.apply(Array(records.prefix(100)), info: Fixtures.info)
        let second = try Ledger(network: Fixtures.network, store: try place.open())
        try second.apply(Array(records[100..<200]), info: Fixtures.info)
        let dump = try place.open().contentDump()
        let error = expectError(.storeFailure) { try first.apply(Array(records[200...]), info: Fixtures.info) }
        #expect(error?.message.contains("another process wrote to this ledger") == true)
        #expect(try place.open().contentDump() == dump)
        let reopened = try Ledger(network: Fixtures.network, store: try place.open())
        try reopened.apply(Array(records[200...]), info: Fixtures.info)
        #expect(try Audit.run(reopened).isClean)
    }

    @Test("the saved snapshot opens the ledger; a damaged or stale one is ignored for the tables")
    func snapshot() throws {
        let place = try LedgerPlace(.postgresql)
        defer { place.remove() }
        let records = Fixtures.activity(seed: 8, members: 30, records: 400)
        let before: StateImage
        do {
            let ledger = try Ledger(network: Fixtures.network, store: try place.create())
            try ledger.apply(Array(records.prefix(300)), info: Fixtures.info)
            try ledger.saveState()
            before = StateImage(ledger.state)
        }
        func reopen() throws -> (PostgreSQLStore, Ledger) {
            let store = try #require(try place.open() as? PostgreSQLStore)
            return (store, try Ledger(network: Fixtures.network, store: store))
        }
        var (store, ledger) = try reopen()
        #expect(store.loadedFromSnapshot)
        #expect(StateImage(ledger.state) == before)
        #expect(try store.snapshotProblems(ledger.state) == [])
        // Damaged: its checksum fails, and the tables give the same state.
        try place.executeRaw("UPDATE state_snapshot SET state = set_byte(state, 40, get_byte(state, 40) # 1)")
        (store, ledger) = try reopen()
        #expect(!store.loadedFromSnapshot)
        #expect(StateImage(ledger.state) == before)
        // Stale: a batch came after it was saved.
        try ledger.saveState()
        try ledger.apply(Array(records.suffix(100)), info: Fixtures.info)
        let after = StateImage(ledger.state)
        (store, ledger) = try reopen()
        #expect(!store.loadedFromSnapshot)
        #expect(StateImage(ledger.state) == after)
        #expect(try Audit.run(ledger).isClean)
    }

    @Test(
        "a connection string's password never appears in what the store says",
        arguments: [
            "postgresql://clerk:s3cret-pw@127.0.0.1:1/ledger?connect_timeout=2",
            "host=127.0.0.1 port=1 user=clerk password=s3cret-pw dbname=ledger connect_timeout=2",
        ]
    )
    func passwordsRedacted(conninfo: String) throws {
        let redacted = PostgreSQLStore.redacted(conninfo)
        #expect(!redacted.contains("s3cret-pw"))
        #expect(redacted.contains("user=clerk"))
        #expect(redacted.contains("dbname=ledger"))
        // Nothing listens on port 1: the failure names the server, not the password.
        let error = expectError(.storeFailure) { try PostgreSQLStore(conninfo: conninfo) }
        #expect(error.map { !"\($0)".contains("s3cret-pw") } == true)
        #expect(error?.place.file?.contains("user=clerk") == true)
    }
}
