import CCoalitionSQLite

/// Runs SQL on a database file directly, not through the store: for files that are not
/// ledgers, or ledgers changed behind the store's back. The one test file that calls sqlite3.
enum RawSQLite {
    /// SQLite configured as the store configures it, whichever of the two opens first.
    private static let configured: Void = { _ = coalition_sqlite3_disable_memstatus() }()

    /// What SQLite counts as allocated: 0 when it keeps no statistics, as the store sets it.
    static var memoryUsed: Int64 {
        configured
        return sqlite3_memory_used()
    }

    static func execute(_ sql: String, at path: String) throws {
        configured
        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil) == SQLITE_OK, let db else {
            sqlite3_close_v2(db)
            throw RawSQLiteError(message: "cannot open \(path)")
        }
        defer { sqlite3_close_v2(db) }
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw RawSQLiteError(message: String(cString: sqlite3_errmsg(db)))
        }
    }
}

struct RawSQLiteError: Error {
    let message: String
}

/// A second connection to a ledger file that stays open: to hold a write lock against the
/// store, as another process would.
final class RawConnection {
    private let handle: OpaquePointer

    init(path: String) throws {
        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK, let db else {
            sqlite3_close_v2(db)
            throw RawSQLiteError(message: "cannot open \(path)")
        }
        handle = db
    }

    deinit { sqlite3_close_v2(handle) }

    func execute(_ sql: String) throws {
        guard sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK else {
            throw RawSQLiteError(message: String(cString: sqlite3_errmsg(handle)))
        }
    }
}
