import CoalitionKit

extension PostgreSQLStore {
    /// The limit the benchmark compares ingestion with: PostgreSQL's own `COPY` of `rows`
    /// rows of a text key and a few integers into a (logged) table with one unique index on
    /// the key, in one transaction, in the database `conninfo` names: in text and in binary
    /// format, each into a new table, the faster of the two (the stricter limit). The table
    /// is dropped afterwards. Returns the seconds from the start of the COPY to its commit.
    package static func bareCopySeconds(rows: Int, conninfo: String) throws -> Double {
        let connection = try Connection(conninfo: conninfo)
        try connection.execute("SET client_min_messages = warning")
        // The rows are made before the clock starts, as the bare insert's are bound as it goes.
        var text = CopyText()
        var binary = CopyBinary()
        text.reserve(rows * 24)
        binary.reserve(rows * 48)
        for row in 0..<rows {
            text.add("P01")
            text.add("R\(row)")
            text.add(Int64(row))
            text.add(Int64(row) * 7)
            text.endRow()
            binary.add("P01")
            binary.add("R\(row)")
            binary.add(Int64(row))
            binary.add(Int64(row) * 7)
            binary.endRow()
        }
        let textSeconds = try timedCopy(connection, data: text.bytes, format: "")
        let binarySeconds = try timedCopy(connection, data: binary.finish(), format: CopyBinary.format)
        return min(textSeconds, binarySeconds)
    }

    private static func timedCopy(_ connection: Connection, data: [UInt8], format: String) throws -> Double {
        try connection.execute("DROP TABLE IF EXISTS coalition_bench_bare_copy")
        try connection.execute(
            """
            CREATE TABLE coalition_bench_bare_copy (
                id bigint GENERATED ALWAYS AS IDENTITY, partner text NOT NULL, record_id text NOT NULL,
                a bigint, b bigint);
            CREATE UNIQUE INDEX coalition_bench_bare_copy_key ON coalition_bench_bare_copy (partner, record_id);
            """
        )
        defer { _ = try? connection.execute("DROP TABLE IF EXISTS coalition_bench_bare_copy") }
        let started = MonotonicClock.now
        try connection.execute("BEGIN")
        try connection.copy(
            "COPY coalition_bench_bare_copy (partner, record_id, a, b) FROM STDIN \(format)",
            data: data
        )
        try connection.execute("COMMIT")
        return MonotonicClock.seconds(since: started)
    }

    /// Drops every table of this ledger, leaving its database empty: for the benchmark's
    /// scratch ledger, made in a database that was empty (`create` refuses any other).
    package func dropLedgerTables() throws {
        let tables = try connection.query(
            "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables WHERE schemaname = current_schema()"
        )
        guard tables.count > 0, !tables.isNull(0, 0) else { return }
        try connection.execute("DROP TABLE \(tables.string(0, 0))")
    }
}
