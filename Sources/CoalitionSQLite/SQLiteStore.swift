import CoalitionFiles
import CoalitionKit
import Foundation

/// The embedded ledger store: one SQLite file in WAL mode with `synchronous=FULL`, so a
/// committed batch survives power loss. The schema is versioned with `PRAGMA user_version`
/// and marked with `PRAGMA application_id`, so a file that is not a Coalition ledger, or one
/// from a newer Coalition, is refused untouched.
///
/// A batch's chunks are written on a second thread (`BackgroundWriter`) while the engine
/// plans the next chunk. What the engine reads back during a batch is answered without
/// waiting for the queued chunks: postings of the last few chunks from memory, postings
/// committed before the batch from a second, read-only connection, and postings written
/// earlier in the batch from the writer's own connection between two of its rows
/// (`ConnectionGate`); the batch's own changes to them are laid over both.
///
/// The store's parts: opening and the saved state (here), the batch's writes
/// (`BatchWriting.swift`, `ChunkWriter`, `BackgroundWriter`), the engine's reads during a
/// batch with the batch laid over them (`BatchReads.swift`), the report queries
/// (`ReportQueries.swift`) and the checks of the file (`StoreChecks.swift`).
package final class SQLiteStore: LedgerStore {
    package let database: Database
    package let writer: BackgroundWriter
    /// A read-only connection: sees what is committed, never the open batch.
    var reader: Database?
    /// What the store keeps in memory of the open batch (`BatchReads.swift`).
    var openBatch: OpenBatch?

    /// `Coal` in ASCII.
    static let applicationID: Int64 = 0x436F_616C

    /// Opens the ledger at `path`. With `create`, makes a new one (the file must not exist).
    package init(path: String, create: Bool = false) throws {
        let exists = FileManager.default.fileExists(atPath: path)
        if create && exists {
            throw CoalitionError(.ledgerExists, "a ledger already exists here", at: Place(file: path))
        }
        if !create && !exists {
            throw CoalitionError(.noLedger, "no ledger here: run `coalition init` first", at: Place(file: path))
        }
        database = try Database(path: path, create: create)
        if create {
            // A state file left by an earlier ledger of this name is not this one's.
            unlink(StateFile.path(for: path))
            // Before the first write: a page size is fixed once the file has a page.
            try database.execute("PRAGMA page_size = \(SQLiteStore.pageSize)")
            try database.execute("PRAGMA application_id = \(SQLiteStore.applicationID)")
        } else {
            let id: Int64?
            do {
                id = try database.integer("PRAGMA application_id")
            } catch {
                // Not SQLite at all: no more a ledger than another application's database.
                guard database.lastErrorIsNotADatabase else { throw error }
                id = nil
            }
            guard id == SQLiteStore.applicationID else {
                throw CoalitionError(
                    .notALedger,
                    "this file is not a Coalition ledger; it was left untouched",
                    at: Place(file: path)
                )
            }
            let version = try database.integer("PRAGMA user_version") ?? 0
            guard version <= Int64(Schema.migrations.count) else {
                throw CoalitionError(
                    .newerSchema,
                    "this ledger has schema version \(version), newer than this coalition (\(Schema.migrations.count)); "
                        + "it was left untouched: use a newer coalition",
                    at: Place(file: path)
                )
            }
        }
        try database.execute("PRAGMA journal_mode = WAL")
        try database.execute("PRAGMA synchronous = FULL")
        try database.execute("PRAGMA foreign_keys = ON")
        // Another connection may write the outbox (`coalition events redeliver` beside a
        // running server): wait for its short transaction instead of failing at once.
        try database.execute("PRAGMA busy_timeout = 10000")
        try SQLiteStore.tune(database)
        try Schema.migrate(database)
        writer = BackgroundWriter(database: database)
    }

    package var path: String { database.path }

    // MARK: Loading

    /// Where the state is saved between processes: see `StateFile`.
    package var stateFilePath: String { StateFile.path(for: database.path) }

    /// Whether the last `load` read the saved state file (otherwise it read the tables).
    package private(set) var loadedFromStateFile = false

    /// The mark of the state the state file holds, as far as this store knows: a state
    /// already saved is not written again.
    private var savedMark: StateMark?

    package func load() throws -> LedgerSnapshot {
        try writer.drain()
        let (state, fromFile) = try StateLoader(database: database).load(stateFile: stateFilePath)
        loadedFromStateFile = fromFile
        savedMark = fromFile ? StateMark(state) : nil
        return state
    }

    /// The state as the tables hold it, whatever the state file says.
    package func loadFromTables() throws -> LedgerSnapshot {
        try writer.drain()
        return try StateLoader(database: database).load(stateFile: nil).state
    }

    /// Where `state`, loaded from the state file, differs from what the tables hold (none
    /// when it was loaded from the tables): for the audit, since a state file that passed its
    /// checks must still be exactly the tables' state.
    package func stateFileProblems(_ state: LedgerSnapshot) throws -> [String] {
        guard loadedFromStateFile else { return [] }
        return SavedState.differences(saved: state, tables: try loadFromTables(), named: "state file")
    }

    /// Saves `state` to the state file, if it is the state the tables stand at now and the
    /// file does not hold it already. Outside a batch only.
    package func saveState(_ state: LedgerSnapshot) throws {
        guard openBatch == nil else { return }
        try writer.drain()
        let mark = StateMark(state)
        // A ledger another process (or another `Ledger` of this one) has moved on is not saved.
        guard mark != savedMark, try StateMark.current(database) == mark else { return }
        try StateFile.write(state, mark: mark, to: stateFilePath)
        savedMark = mark
    }
}

extension SQLiteStore {
    /// The page size of a new ledger, in bytes. A batch writes every page it touches to the
    /// WAL once, and SQLite looks for each page its cache misses in the WAL index, one hash
    /// table per 4,096 frames: at 16 KiB a page there are a quarter as many frames for the
    /// same bytes, so a long file's WAL-index search, and the kernel's zeroing of the WAL's
    /// partly written blocks (a frame is 24 bytes longer than a page), shrink with them. At
    /// 10M records they were a quarter of the writer's time at 4 KiB, SQLite's default, and
    /// are a twentieth at 16 KiB (docs/performance.md). A ledger made with another size
    /// keeps it.
    package static let pageSize = 16_384

    /// Settings for a single writer with large batches: a 32 MiB page cache, so index pages
    /// of a big batch stay in memory, and temporary structures in memory.
    package static func tune(_ database: Database) throws {
        try database.execute("PRAGMA cache_size = -32768")
        try database.execute("PRAGMA temp_store = MEMORY")
    }
}
