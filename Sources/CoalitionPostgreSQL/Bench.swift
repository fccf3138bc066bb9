import CoalitionKit

extension PostgreSQLStore {
    /// The limit the benchmark compares ingestion with: PostgreSQL's own `COPY` of `rows`
    /// rows of a text key and a few integers into a (logged) table with one unique index on
    /// the key, in one transaction, in the database `conninfo` names. The table is dropped
    /// afterwards. Returns the seconds from the start of the COPY to its commit.
    public static func bareCopySeconds(rows: Int, conninfo: String) throws -> Double {
        let connection = try Connection(conninfo: conninfo)
        try connection.execute("SET client_min_messages = warning")
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
        // The rows are made before the clock starts, as the bare insert's are bound as it goes.
        var copy = CopyText()
        copy.reserve(rows * 24)
        for row in 0..<rows {
            copy.add("P01")
            copy.add("R\(row)")
            copy.add(Int64(row))
            copy.add(Int64(row) * 7)
            copy.endRow()
        }
        let started = MonotonicClock.now
        try connection.execute("BEGIN")
        try connection.copy("COPY coalition_bench_bare_copy (partner, record_id, a, b) FROM STDIN", data: copy.bytes)
        try connection.execute("COMMIT")
        return MonotonicClock.seconds(since: started)
    }

    /// Drops every table of this ledger, leaving its database empty: for the benchmark's
    /// scratch ledger, made in a database that was empty (`create` refuses any other).
    public func dropLedgerTables() throws {
        let tables = try connection.query(
            "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables WHERE schemaname = current_schema()"
        )
        guard tables.count > 0, !tables.isNull(0, 0) else { return }
        try connection.execute("DROP TABLE \(tables.string(0, 0))")
    }
}
