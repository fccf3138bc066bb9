import CoalitionKit
import CoalitionSQLite

/// The bench's limit for SQLite: not part of the shipped store.
extension SQLiteStore {
    /// The limit the benchmark compares ingestion with: inserting `rows` rows of a text key
    /// and a few integers into a table with one unique text index, in one transaction, with
    /// the ledger's durability settings. Returns the seconds it took.
    package static func bareInsertSeconds(rows: Int, directory: String) throws -> Double {
        let path = directory + "/bare-insert.sqlite"
        let database = try Database(path: path, create: true)
        try database.execute("PRAGMA page_size = \(SQLiteStore.pageSize)")
        try database.execute("PRAGMA journal_mode = WAL")
        try database.execute("PRAGMA synchronous = FULL")
        try SQLiteStore.tune(database)
        try database.execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, partner TEXT NOT NULL, record_id TEXT NOT NULL, a INTEGER, b INTEGER)"
        )
        try database.execute("CREATE UNIQUE INDEX t_key ON t (partner, record_id)")
        let started = MonotonicClock.now
        try database.transaction {
            let insert = try database.statement("INSERT INTO t (partner, record_id, a, b) VALUES (?, ?, ?, ?)")
            for row in 0..<rows {
                insert.bind(1, "P01")
                insert.bind(2, "R\(row)")
                insert.bind(3, Int64(row))
                insert.bind(4, Int64(row) * 7)
                try insert.run()
            }
        }
        return MonotonicClock.seconds(since: started)
    }
}
