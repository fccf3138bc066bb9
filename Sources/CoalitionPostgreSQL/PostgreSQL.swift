import CCoalitionPostgreSQL
import CoalitionKit
import CoalitionStoreSupport
import Foundation

// The one file that talks to libpq. The store calls these types.

/// One connection to a PostgreSQL server. Not thread-safe: its owner serializes access.
///
/// Every libpq call's result is checked; a failure is a `STORE_FAILURE` that carries the
/// server's message, its SQLSTATE and the SQL text, never a statement's arguments, and names
/// the server by `target`, the connection string without its password.
package final class Connection {
    private let handle: OpaquePointer
    /// The connection string without its password: what errors and logs may show.
    let target: String

    /// Connects with `conninfo`, a `postgresql://` URL or `key=value` pairs; `overrides` are
    /// further `key=value` settings that win over the string's (a test's database name).
    init(conninfo: String, overrides: [(String, String)] = []) throws {
        target = Connection.redacted(conninfo)
        let keywords = ["dbname"] + overrides.map(\.0)
        let values = [conninfo] + overrides.map(\.1)
        let connection = withCStrings(keywords) { keys in
            withCStrings(values) { vals in PQconnectdbParams(keys, vals, 1) }
        }
        guard let connection else {
            throw CoalitionError(.storeFailure, "cannot connect to PostgreSQL: out of memory", at: Place(file: target))
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Connection.trimmed(PQerrorMessage(connection))
            PQfinish(connection)
            throw CoalitionError(.storeFailure, "cannot connect to PostgreSQL: \(message)", at: Place(file: target))
        }
        handle = connection
        // Notices (a table that already exists, …) are not printed on the terminal.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
    }

    deinit { PQfinish(handle) }

    /// `conninfo` with every setting but the password, as `key=value` pairs; a string libpq
    /// cannot parse is shown only as "(unparsable connection string)".
    static func redacted(_ conninfo: String) -> String {
        var error: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &error) else {
            if let error { PQfreemem(error) }
            return "(unparsable connection string)"
        }
        defer { PQconninfoFree(options) }
        var parts: [String] = []
        var option = options
        while let keyword = option.pointee.keyword {
            let key = String(cString: keyword)
            if let value = option.pointee.val, key != "password" {
                parts.append("\(key)=\(String(cString: value))")
            }
            option += 1
        }
        return parts.joined(separator: " ")
    }

    /// Whether libpq can parse `conninfo` at all.
    static func isParsable(_ conninfo: String) -> Bool {
        var error: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &error) else {
            if let error { PQfreemem(error) }
            return false
        }
        PQconninfoFree(options)
        return true
    }

    private static func trimmed(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "unknown error" }
        var message = String(cString: text)
        while message.last?.isNewline == true || message.last == " " { message.removeLast() }
        return message.isEmpty ? "unknown error" : message
    }

    private func failure(_ what: String, _ sql: String, result: OpaquePointer?) -> CoalitionError {
        var message =
            result.map { Connection.trimmed(PQresultErrorMessage($0)) }
            ?? Connection.trimmed(
                PQerrorMessage(handle)
            )
        if message == "unknown error" { message = Connection.trimmed(PQerrorMessage(handle)) }
        if let result, let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))) {
            message += " (SQLSTATE \(String(cString: state)))"
        }
        return CoalitionError(
            .storeFailure,
            "\(what): \(message); SQL: \(StoreSQL.shown(sql))",
            at: Place(file: target)
        )
    }

    /// The SQLSTATE of a failed result, for callers that tell some failures apart.
    static func sqlState(of error: CoalitionError) -> String? {
        guard let range = error.message.range(of: "(SQLSTATE ") else { return nil }
        return String(error.message[range.upperBound...].prefix(5))
    }

    /// Runs `sql`, one or more statements that return no rows (or rows nobody reads).
    package func execute(_ sql: String) throws {
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        let status = result.map(PQresultStatus) ?? PGRES_FATAL_ERROR
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            throw failure("executing SQL", sql, result: result)
        }
    }

    /// Runs one statement with `parameters` (text, nil for NULL) and returns its rows.
    package func query(_ sql: String, _ parameters: [String?] = []) throws -> Rows {
        let result = withOptionalCStrings(parameters) { values in
            PQexecParams(handle, sql, Int32(parameters.count), nil, values, nil, nil, 0)
        }
        let status = result.map(PQresultStatus) ?? PGRES_FATAL_ERROR
        guard let result, status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            let error = failure("running SQL", sql, result: result)
            PQclear(result)
            throw error
        }
        return Rows(result)
    }

    /// The single value of a query's first row and column, as an integer (nil for no row or NULL).
    func integer(_ sql: String, _ parameters: [String?] = []) throws -> Int64? {
        let rows = try query(sql, parameters)
        guard rows.count > 0, !rows.isNull(0, 0) else { return nil }
        return rows.int64(0, 0)
    }

    /// Runs `sql`, a `COPY … FROM STDIN`, sending `data` (COPY's text format) in one stream.
    func copy(_ sql: String, data: [UInt8]) throws {
        let started = PQexec(handle, sql)
        guard let started, PQresultStatus(started) == PGRES_COPY_IN else {
            let error = failure("starting COPY", sql, result: started)
            PQclear(started)
            throw error
        }
        PQclear(started)
        var sent = true
        data.withUnsafeBufferPointer { buffer in
            var offset = 0
            let piece = 1 << 20
            while offset < buffer.count && sent {
                let count = min(piece, buffer.count - offset)
                let base = UnsafeRawPointer(buffer.baseAddress! + offset).assumingMemoryBound(to: CChar.self)
                sent = PQputCopyData(handle, base, Int32(count)) == 1
                offset += count
            }
        }
        // Ending the copy with an error message makes the server abandon it.
        let ended = sent ? PQputCopyEnd(handle, nil) : PQputCopyEnd(handle, "the client failed to send the rows")
        var failed: CoalitionError? =
            ended == 1 ? nil : failure("ending COPY", sql, result: nil)
        // Every result of the COPY is read, so the connection is ready for the next command.
        while let result = PQgetResult(handle) {
            if PQresultStatus(result) != PGRES_COMMAND_OK && failed == nil {
                failed = failure("copying rows", sql, result: result)
            }
            PQclear(result)
        }
        if let failed { throw failed }
        if !sent { throw failure("sending COPY data", sql, result: nil) }
    }

    /// Streams the rows of `sql` through a cursor, `batch` rows a fetch, so a large result
    /// is never held whole. Must run inside a transaction (a cursor lives in one).
    func forEachRow(
        _ sql: String,
        _ parameters: [String?] = [],
        batch: Int = 20_000,
        _ body: (Rows, Int) throws -> Void
    ) throws {
        _ = try query("DECLARE coalition_rows NO SCROLL CURSOR FOR \(sql)", parameters)
        var closed = false
        defer { if !closed { _ = try? execute("CLOSE coalition_rows") } }
        while true {
            let rows = try query("FETCH FORWARD \(batch) FROM coalition_rows")
            if rows.count == 0 { break }
            for row in 0..<rows.count { try body(rows, row) }
        }
        closed = true
        try execute("CLOSE coalition_rows")
    }

    /// Whether a transaction is open on this connection (or failed and not yet rolled back).
    var isInTransaction: Bool {
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
    }

    /// The server's major version (15 for 15.x).
    var serverMajorVersion: Int { Int(PQserverVersion(handle)) / 10_000 }
}

/// The rows of one result, in text format. Owns the libpq result and frees it.
package final class Rows {
    private let result: OpaquePointer
    package let count: Int
    package let columns: Int

    fileprivate init(_ result: OpaquePointer) {
        self.result = result
        count = Int(PQntuples(result))
        columns = Int(PQnfields(result))
    }

    deinit { PQclear(result) }

    func isNull(_ row: Int, _ column: Int) -> Bool { PQgetisnull(result, Int32(row), Int32(column)) == 1 }

    /// A column holding an integer, read from its text without making a string.
    func int64(_ row: Int, _ column: Int) -> Int64 {
        guard var p = PQgetvalue(result, Int32(row), Int32(column)) else { return 0 }
        var negative = false
        if p.pointee == CChar(UInt8(ascii: "-")) {
            negative = true
            p += 1
        }
        var value: Int64 = 0
        while p.pointee >= CChar(UInt8(ascii: "0")) && p.pointee <= CChar(UInt8(ascii: "9")) {
            // A bigint never overflows here; wrapping keeps a damaged value from trapping.
            value = value &* 10 &+ Int64(p.pointee - CChar(UInt8(ascii: "0")))
            p += 1
        }
        return negative ? 0 &- value : value
    }

    func optionalInt64(_ row: Int, _ column: Int) -> Int64? { isNull(row, column) ? nil : int64(row, column) }

    package func string(_ row: Int, _ column: Int) -> String {
        guard let p = PQgetvalue(result, Int32(row), Int32(column)) else { return "" }
        return String(cString: p)
    }

    package func optionalString(_ row: Int, _ column: Int) -> String? {
        isNull(row, column) ? nil : string(row, column)
    }

    /// The raw bytes of a text column, valid only inside `body`.
    func withBytes<T>(_ row: Int, _ column: Int, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        let length = Int(PQgetlength(result, Int32(row), Int32(column)))
        guard let p = PQgetvalue(result, Int32(row), Int32(column)) else {
            return try body(UnsafeRawBufferPointer(start: nil, count: 0))
        }
        return try body(UnsafeRawBufferPointer(start: UnsafeRawPointer(p), count: length))
    }

    /// A `bytea` column, which the text format sends as `\x` and hexadecimal digits.
    func bytes(_ row: Int, _ column: Int) -> [UInt8] {
        withBytes(row, column) { text in
            guard text.count >= 2, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x") else { return [] }
            func nibble(_ c: UInt8) -> UInt8 {
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
                default: return c &- UInt8(ascii: "A") &+ 10
                }
            }
            var out: [UInt8] = []
            out.reserveCapacity((text.count - 2) / 2)
            var index = 2
            while index + 1 < text.count {
                out.append(nibble(text[index]) << 4 | nibble(text[index + 1]))
                index += 2
            }
            return out
        }
    }
}

/// Calls `body` with `strings` as a C array of C strings, valid only inside `body`.
private func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> T) -> T {
    withOptionalCStrings(strings.map { Optional($0) } + [nil], body)
}

/// Calls `body` with `strings` as a C array of C strings (NULL for nil), valid only inside it.
private func withOptionalCStrings<T>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> T) -> T {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0) } ?? nil }
    defer { for copy in copies { free(copy) } }
    let pointers = copies.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer { buffer in
        if let base = buffer.baseAddress { return body(base) }
        var none: UnsafePointer<CChar>? = nil
        return withUnsafePointer(to: &none) { body($0) }
    }
}

/// One row of a result, for `StoredRows`.
struct ResultRow: StoredRow {
    let rows: Rows
    let row: Int

    func int64(at column: Int) -> Int64 { rows.int64(row, column) }
    func optionalInt64(at column: Int) -> Int64? { rows.optionalInt64(row, column) }
    func string(at column: Int) -> String { rows.string(row, column) }
    func optionalString(at column: Int) -> String? { rows.optionalString(row, column) }
    func bytes(at column: Int) -> [UInt8] { rows.bytes(row, column) }
}

extension Rows {
    /// Row `row`, for `StoredRows`.
    subscript(row: Int) -> ResultRow { ResultRow(rows: self, row: row) }
}
