import CoalitionKit
import CoalitionSQLite
import CoalitionTestSupport
import Foundation
import Testing

@testable import CoalitionPostgreSQL

/// The store engines the contract tests run against.
enum StoreEngine: String, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgresql

    var testDescription: String { rawValue }

    /// The variable that names a PostgreSQL server for the tests: a libpq connection string
    /// (`host=/tmp/pg port=5432 user=postgres dbname=postgres` or a `postgresql://` URL) of a
    /// role that may create databases. Each test makes a database of its own and drops it.
    static let postgreSQLVariable = "COALITION_TEST_POSTGRESQL"

    static var postgreSQLServer: String? {
        guard let value = ProcessInfo.processInfo.environment[postgreSQLVariable], !value.isEmpty else { return nil }
        return value
    }

    static var isPostgreSQLConfigured: Bool { postgreSQLServer != nil }

    /// What a skipped PostgreSQL suite says.
    static let howToRunPostgreSQL: Comment =
        "COALITION_TEST_POSTGRESQL is not set: the PostgreSQL suites did not run. Run `bash .ci/postgres` (starts a throwaway PostgreSQL 15 and runs them), or set it to a libpq connection string of a server where the role may create databases"
}

/// What the contract tests need of a store beyond `LedgerStore`.
protocol TestableStore: LedgerStore {
    func contentDump() throws -> String
    func executeForTesting(_ sql: String) throws
}

extension SQLiteStore: TestableStore {}
extension PostgreSQLStore: TestableStore {}

/// One ledger's place on an engine: a file in a temporary directory for SQLite, a database
/// of its own on the test server for PostgreSQL (made here, dropped by `remove`).
final class LedgerPlace {
    let engine: StoreEngine
    let directory: TemporaryDirectory
    private let databaseName: String?

    init(_ engine: StoreEngine) throws {
        self.engine = engine
        directory = try TemporaryDirectory()
        switch engine {
        case .sqlite:
            databaseName = nil
        case .postgresql:
            let name = "coalition_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            try LedgerPlace.admin().execute("CREATE DATABASE \(name)")
            databaseName = name
        }
    }

    private static func admin() throws -> Connection {
        guard let server = StoreEngine.postgreSQLServer else {
            throw CoalitionError(.usage, "\(StoreEngine.postgreSQLVariable) is not set")
        }
        return try Connection(conninfo: server)
    }

    /// The PostgreSQL database's name ("" for SQLite).
    var databaseNameForTesting: String { databaseName ?? "" }

    /// A second place on the same engine.
    func sibling() throws -> LedgerPlace { try LedgerPlace(engine) }

    func create() throws -> any TestableStore { try open(create: true) }

    func open(create: Bool = false) throws -> any TestableStore {
        switch engine {
        case .sqlite:
            return try SQLiteStore(path: directory.ledgerPath, create: create)
        case .postgresql:
            return try PostgreSQLStore(
                conninfo: StoreEngine.postgreSQLServer ?? "",
                create: create,
                overrides: [("dbname", databaseName ?? "")]
            )
        }
    }

    /// Runs SQL with no store of ours: for tests that make a database of another application.
    func executeRaw(_ sql: String) throws {
        switch engine {
        case .sqlite:
            try RawSQLite.execute(sql, at: directory.ledgerPath)
        case .postgresql:
            try Connection(conninfo: StoreEngine.postgreSQLServer ?? "", overrides: [("dbname", databaseName ?? "")])
                .execute(sql)
        }
    }

    /// SQL that makes every insert into `obligations` fail with "injected", and undoes it.
    var failingObligationsSQL: (install: String, remove: String) {
        switch engine {
        case .sqlite:
            return (
                "CREATE TRIGGER fail BEFORE INSERT ON obligations BEGIN SELECT RAISE(ABORT, 'injected'); END",
                "DROP TRIGGER fail"
            )
        case .postgresql:
            return (
                """
                CREATE FUNCTION coalition_test_fail() RETURNS trigger LANGUAGE plpgsql AS
                    $$ BEGIN RAISE EXCEPTION 'injected'; END $$;
                CREATE TRIGGER fail BEFORE INSERT ON obligations FOR EACH STATEMENT EXECUTE FUNCTION coalition_test_fail();
                """,
                "DROP TRIGGER fail ON obligations; DROP FUNCTION coalition_test_fail()"
            )
        }
    }

    func remove() {
        directory.remove()
        if let databaseName {
            _ = try? LedgerPlace.admin().execute("DROP DATABASE IF EXISTS \(databaseName) WITH (FORCE)")
        }
    }
}
