import CoalitionKit
import CoalitionSQLite
import CoalitionTestSupport
import Foundation
import Testing

@Suite("SQLite errors: every bind checked, the SQL and SQLite's code kept, never a bound value")
struct StoreErrorTests {
    /// A table with a unique key, in a new database of `directory`.
    func database(_ directory: TemporaryDirectory) throws -> Database {
        let database = try Database(path: directory.file("errors.sqlite"), create: true)
        try database.execute("CREATE TABLE t (key TEXT PRIMARY KEY, value INTEGER)")
        return database
    }

    @Test("a bind that fails is thrown by the step that would run without it; nothing is written")
    func failedBind() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try database(directory)
        let sql = "INSERT INTO t (key, value) VALUES (?, ?)"
        let insert = try database.statement(sql)
        // Each parameter index past the statement's two fails with SQLITE_RANGE (25).
        for index: Int32 in [3, 7, 0, -1] {
            insert.bind(1, "secret-\(index)")
            insert.bind(index, Int64(5))
            insert.bind(2, Int64(6))
            let error = expectError(.storeFailure) { try insert.run() }
            let message = error?.message ?? ""
            #expect(message.contains("binding parameter \(index)"), "\(message)")
            #expect(message.contains("(SQLite 25)"), "\(message)")
            #expect(message.contains(sql), "\(message)")
            #expect(!message.contains("secret"), "\(message)")
        }
        #expect(try database.integer("SELECT count(*) FROM t") == 0)
        // After the failure the statement runs again with good bindings.
        insert.bind(1, "k")
        insert.bind(2, Int64(1))
        try insert.run()
        #expect(try database.integer("SELECT count(*) FROM t") == 1)
    }

    @Test("a statement SQLite refuses names the SQL and the extended code, never the values bound")
    func refusedStatement() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try database(directory)
        let sql = "INSERT INTO t (key, value) VALUES (?, ?)"
        let insert = try database.statement(sql)
        insert.bind(1, "password-like")
        insert.bind(2, Int64(1))
        try insert.run()
        insert.bind(1, "password-like")
        insert.bind(2, Int64(2))
        let error = expectError(.storeFailure) { try insert.run() }
        let message = error?.message ?? ""
        // SQLITE_CONSTRAINT_PRIMARYKEY
        #expect(message.contains("(SQLite 1555)"), "\(message)")
        #expect(message.contains("SQL: \(sql)"), "\(message)")
        #expect(!message.contains("password-like"), "\(message)")
        let prepared = expectError(.storeFailure) { try database.statement("SELECT nothing FROM t") }
        #expect(prepared?.message.contains("SQL: SELECT nothing FROM t") == true, "\(String(describing: prepared))")
    }

    @Test("a stored posting of an unknown kind is STORE_FAILURE for every reader, the audit included")
    func unknownKind() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try SQLiteStore(path: directory.ledgerPath, create: true)
        let ledger = try Ledger(network: Fixtures.network, store: store)
        for batch in Fixtures.batches(Fixtures.activity(seed: 71, members: 20, records: 200), seed: 71) {
            try ledger.apply(batch, info: Fixtures.info)
        }
        let member = try #require(ledger.state.members.keys.min())
        let postings = try ledger.store.postings(member: member, in: .distantRange)
        let seq = try #require(postings.first { $0.recordKey != nil }?.seq)
        try store.executeForTesting("UPDATE postings SET kind = 99 WHERE seq = \(seq)")
        let reopened = try SQLiteStore(path: directory.ledgerPath)
        for read in [
            { _ = try reopened.posting(seq: seq) }, { _ = try reopened.appliedRecord(seq: seq) },
            { try reopened.forEachPosting { _ in } },
        ] as [() throws -> Void] {
            let error = expectError(.storeFailure, read)
            #expect(error?.message == "posting \(seq) has an unknown kind 99")
        }
        expectError(.storeFailure) { try Audit.run(try Ledger(network: Fixtures.network, store: reopened)) }
    }
}

extension ClosedRange where Bound == Timestamp {
    /// Every time a ledger holds.
    fileprivate static var distantRange: ClosedRange<Timestamp> {
        Timestamp(seconds: 0)...Timestamp(seconds: Int64.max / 2)
    }
}
