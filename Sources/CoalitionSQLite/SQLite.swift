import CCoalitionSQLite
import CoalitionKit
import CoalitionStoreSupport

// The one file that talks to libsqlite3. The store calls these types.

/// `SQLITE_TRANSIENT`, which Swift cannot import: SQLite copies the bound bytes.
private let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

/// SQLite configured once, before the first connection: without memory statistics (their
/// global mutex is taken on every allocation). SQLITE_MISUSE means SQLite was initialized
/// already (by another user in this process) and keeps its statistics: slower, not wrong.
private let sqliteConfigured: Int32 = {
    _ = coalition_sqlite3_disable_memstatus()
    return sqlite3_initialize()
}()

/// One SQLite connection. Not thread-safe: its owner serializes access.
///
/// Every SQLite call's result is checked, every `sqlite3_bind_*` too (a failed bind is
/// thrown by the `step` that would run with it); a failure is a `STORE_FAILURE` that carries
/// SQLite's message, its extended result code and the SQL text, never a bound value, as
/// GRDB's `DatabaseError` does.
package final class Database {
    private let handle: OpaquePointer
    private var cache: [String: Statement] = [:]
    let path: String

    /// Opens `path`; creates the file only when `create` is true; `readOnly` opens a
    /// connection that can only read.
    package init(path: String, create: Bool, readOnly: Bool = false) throws {
        guard sqliteConfigured == SQLITE_OK else {
            throw CoalitionError(
                .storeFailure,
                "SQLite did not initialize (\(sqliteConfigured))",
                at: Place(file: path)
            )
        }
        var db: OpaquePointer?
        let access = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0)
        let flags = access | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &db, flags, nil)
        guard status == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            throw CoalitionError(.storeFailure, "cannot open the database: \(message)", at: Place(file: path))
        }
        handle = db
        self.path = path
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        cache.removeAll()
        sqlite3_close_v2(handle)
    }

    /// The last call's failure: SQLite's message and extended result code, and `sql`.
    func fail(_ what: String, sql: String) -> CoalitionError {
        fail(what, message: String(cString: sqlite3_errmsg(handle)), code: sqlite3_extended_errcode(handle), sql: sql)
    }

    func fail(_ what: String, message: String, code: Int32, sql: String) -> CoalitionError {
        CoalitionError(
            .storeFailure,
            "\(what): \(message) (SQLite \(code)); SQL: \(StoreSQL.shown(sql))",
            at: Place(file: path)
        )
    }

    /// Whether the last call failed because the file is not a SQLite database at all.
    var lastErrorIsNotADatabase: Bool { sqlite3_extended_errcode(handle) & 0xFF == SQLITE_NOTADB }

    /// Resets every cached statement. A statement left on a row holds its read transaction,
    /// and with it a snapshot older than other connections' commits: after this, the next
    /// read sees them, and a write does not start on a stale snapshot (`SQLITE_BUSY_SNAPSHOT`).
    func resetStatements() {
        for statement in cache.values { statement.reset() }
    }

    /// Runs one or more statements that return no rows.
    package func execute(_ sql: String) throws {
        guard sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK else { throw fail("executing SQL", sql: sql) }
    }

    /// A prepared statement for `sql`, from the cache when it was prepared before.
    package func statement(_ sql: String) throws -> Statement {
        if let cached = cache[sql] {
            cached.reset()
            return cached
        }
        var raw: OpaquePointer?
        guard sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil) == SQLITE_OK, let raw
        else { throw fail("preparing SQL", sql: sql) }
        let statement = Statement(raw, sql: sql, database: self)
        cache[sql] = statement
        return statement
    }

    /// The single integer a query returns, or nil when it returns no row.
    package func integer(_ sql: String) throws -> Int64? {
        let statement = try self.statement(sql)
        defer { statement.reset() }
        return try statement.step() ? statement.int64(0) : nil
    }

    /// Runs `body` in one `BEGIN IMMEDIATE … COMMIT`; any error rolls everything back.
    package func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            _ = sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
            throw error
        }
    }

    static var libraryVersion: String { String(cString: sqlite3_libversion()) }
}

/// A prepared statement. Bind with 1-based indexes, read columns with 0-based ones.
///
/// A bind that fails (an index out of range, a value too big, no memory) is kept, and
/// thrown by the next `step` or `run` instead of running the statement with a parameter
/// missing: one branch a bind, and no `try` at every bind of a row.
package final class Statement {
    private let handle: OpaquePointer
    private unowned let database: Database
    /// The SQL, for errors.
    let sql: String
    /// The first bind that failed since the last step or reset: its parameter and code.
    private var bindFailure: (index: Int32, code: Int32)?

    init(_ handle: OpaquePointer, sql: String, database: Database) {
        self.handle = handle
        self.sql = sql
        self.database = database
    }

    deinit { sqlite3_finalize(handle) }

    package func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        bindFailure = nil
    }

    /// Keeps the first failed bind's code for the next step.
    @inline(__always)
    private func check(_ code: Int32, _ index: Int32) {
        if code != SQLITE_OK && bindFailure == nil { bindFailure = (index, code) }
    }

    package func bind(_ index: Int32, _ value: Int64) { check(sqlite3_bind_int64(handle, index, value), index) }
    package func bind(_ index: Int32, _ value: Int64?) {
        if let value { bind(index, value) } else { check(sqlite3_bind_null(handle, index), index) }
    }
    package func bind(_ index: Int32, _ value: String?) {
        if var value {
            // The string's own UTF-8, with its length: no C string is made for it.
            let code = value.withUTF8 {
                sqlite3_bind_text(handle, index, $0.baseAddress, Int32($0.count), transient)
            }
            check(code, index)
        } else {
            check(sqlite3_bind_null(handle, index), index)
        }
    }
    func bind(_ index: Int32, _ value: PartnerID?) {
        if let value {
            let code = value.withUTF8 {
                sqlite3_bind_text(
                    handle,
                    index,
                    $0.baseAddress?.assumingMemoryBound(to: CChar.self),
                    Int32($0.count),
                    transient
                )
            }
            check(code, index)
        } else {
            check(sqlite3_bind_null(handle, index), index)
        }
    }
    /// Binds `bytes` where they lie, not copied: they must stay as they are until the
    /// statement has run and been bound again or reset with its bindings cleared.
    func bindText(_ index: Int32, borrowing bytes: UnsafeRawBufferPointer) {
        // An empty buffer may have no address, which SQLite would take for NULL.
        guard let base = bytes.baseAddress, bytes.count > 0 else { return bind(index, "") }
        check(
            sqlite3_bind_text(handle, index, base.assumingMemoryBound(to: CChar.self), Int32(bytes.count), nil),
            index
        )
    }
    /// `bindText(_:borrowing:)` for a blob.
    func bindBlob(_ index: Int32, borrowing bytes: UnsafeRawBufferPointer) {
        check(sqlite3_bind_blob(handle, index, bytes.baseAddress, Int32(bytes.count), nil), index)
    }
    func bind(_ index: Int32, _ value: [UInt8]) {
        let code = value.withUnsafeBytes {
            sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), transient)
        }
        check(code, index)
    }

    /// Steps once: true while it returns a row, false when done. Throws a failed bind
    /// instead of running without it.
    package func step() throws -> Bool {
        if let failure = bindFailure {
            bindFailure = nil
            throw database.fail(
                "binding parameter \(failure.index)",
                message: String(cString: sqlite3_errstr(failure.code)),
                code: failure.code,
                sql: sql
            )
        }
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw database.fail("running SQL", sql: sql)
        }
    }

    /// Runs a statement that returns no row, then resets it.
    package func run() throws {
        defer { sqlite3_reset(handle) }
        _ = try step()
    }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }
    package func string(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        return String(cString: text)
    }
    func optionalString(_ column: Int32) -> String? { isNull(column) ? nil : string(column) }
    /// The text of `column` as its UTF-8 bytes, valid only inside `body`: no `String` made.
    func text<T>(_ column: Int32, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        let base = sqlite3_column_text(handle, column)
        let count = Int(sqlite3_column_bytes(handle, column))
        return body(UnsafeRawBufferPointer(start: base, count: base == nil ? 0 : count))
    }
    /// Every column of the current row as SQL-ish text, `|`-separated.
    package func rowText() -> String {
        (0..<sqlite3_column_count(handle)).map { column in
            switch sqlite3_column_type(handle, column) {
            case SQLITE_NULL: return "NULL"
            case SQLITE_BLOB: return "x'" + Hex.encode(bytes(column)) + "'"
            default: return string(column)
            }
        }.joined(separator: "|")
    }

    func bytes(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let base = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: base, count: count))
    }
}

extension Statement: StoredRow {
    package func int64(at column: Int) -> Int64 { int64(Int32(column)) }
    package func optionalInt64(at column: Int) -> Int64? { optionalInt64(Int32(column)) }
    package func string(at column: Int) -> String { string(Int32(column)) }
    package func optionalString(at column: Int) -> String? { optionalString(Int32(column)) }
    package func bytes(at column: Int) -> [UInt8] { bytes(Int32(column)) }
}
