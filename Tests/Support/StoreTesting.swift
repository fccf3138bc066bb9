import CoalitionPostgreSQL
import CoalitionSQLite

// What tests do to a store that a shipped store never does: raw SQL into it, and a dump of
// every row to compare two ledgers.

extension SQLiteStore {
    /// Runs raw SQL against the ledger file: for tests that tamper with it on purpose.
    package func executeForTesting(_ sql: String) throws {
        try writer.drain()
        try database.execute(sql)
    }

    /// Every row of every table as text, in a fixed order: two ledgers with the same content
    /// give the same dump.
    package func contentDump() throws -> String {
        try writer.drain()
        var out = ""
        let tables = try database.statement(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
        var names: [String] = []
        while try tables.step() { names.append(tables.string(0)) }
        for name in names {
            out += "== \(name)\n"
            let all = try database.statement("SELECT * FROM \(name) ORDER BY 1, 2")
            while try all.step() { out += all.rowText() + "\n" }
        }
        return out
    }
}

extension PostgreSQLStore {
    /// Runs raw SQL against the ledger: for tests that tamper with it on purpose.
    package func executeForTesting(_ sql: String) throws {
        try connection.execute(sql)
    }

    /// Every row of every table as text, in a fixed order: two ledgers with the same content
    /// give the same dump. The writer lease is not the ledger's content (it changes every
    /// second a server writes) and is left out.
    package func contentDump() throws -> String {
        try readOnly {
            var out = ""
            let tables = try connection.query(
                """
                SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'writer_lease'
                ORDER BY tablename
                """
            )
            for table in 0..<tables.count {
                let name = tables.string(table, 0)
                out += "== \(name)\n"
                let all = try connection.query("SELECT * FROM \(name) ORDER BY 1, 2")
                for row in 0..<all.count {
                    out += (0..<all.columns).map { all.optionalString(row, $0) ?? "NULL" }.joined(separator: "|") + "\n"
                }
            }
            return out
        }
    }
}
