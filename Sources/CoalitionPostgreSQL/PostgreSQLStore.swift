import CoalitionKit
import CoalitionSQLite
import CoalitionStoreSupport
import Foundation

/// The ledger store on PostgreSQL, through libpq: the same tables, hash chain and batch rule
/// as the SQLite store, for a network that needs replication, point-in-time recovery and
/// its finance team's SQL tools.
///
/// **One transaction a batch.** `begin` opens a `READ COMMITTED` transaction and takes a
/// transaction-scoped advisory lock (`writerLockKey`) before it reads anything; `finish`
/// commits. A weaker level than `SERIALIZABLE` is safe because the ledger has a single
/// writer by construction: every batch of every process takes the same lock first, so batch
/// transactions never overlap, and each sees every batch committed before it (a
/// `READ COMMITTED` statement sees what committed before it began). What serializability
/// would add, catching a concurrent writer's changes, cannot arise; and what no isolation
/// level catches, a writer whose state in memory is older than the tables (another process
/// committed since it loaded), is refused by `begin`, which checks the journal's head against
/// the head this store last loaded or wrote.
///
/// **Fast writes.** A chunk's inserted rows go in by `COPY` and its changed rows in one
/// `INSERT … SELECT FROM unnest(…)` a table (`ChunkWriter`): a dozen round trips a chunk,
/// never one a row. Reads during a batch run on the same connection and see the batch's own
/// writes; `prefetch` reads a chunk's reversal originals in one query.
///
/// **Opening.** `saveState` keeps the state in memory as one row of `state_snapshot` (the
/// SQLite store's state file, in its format, kept in the database so that a replica or a
/// restored backup has it too); `load` uses it when it was taken at the tables' head, and
/// otherwise reads the tables, always in one `REPEATABLE READ` transaction.
package final class PostgreSQLStore: LedgerStore {
    package let connection: Connection
    private var openBatch: OpenBatch?
    /// The journal's head (last batch, last posting) as this store last loaded or wrote it.
    private var knownHead: (batch: Int64, seq: Int64)?

    private struct OpenBatch {
        var qualifying: [QualifyingKey: Int64] = [:]
        /// A chunk's reversal originals, read ahead (`prefetch`); dropped when a chunk is written.
        var prefetched: [Int64: (AppliedRecord?, Posting)] = [:]
        var lastSeq: Int64
        /// The highest lot id in the table or used up (see `ChunkWriter.write`).
        var lotCounter: Int64
    }

    /// The writer lease's epoch this store writes under (`fence(epoch:)`), if a server made
    /// it its writer; nil for a command, which writes only while no server holds the lease.
    private var fencingEpoch: Int64?

    /// Makes every later batch commit only while `epoch` is still the writer lease's
    /// (`WriterLease`): a batch of a server that lost the lease is refused with
    /// `WRITER_FENCED` and writes nothing.
    package func fence(epoch: Int64) {
        fencingEpoch = epoch
    }

    /// The key of the advisory lock every batch transaction takes: `Coal` in ASCII.
    static let writerLockKey: Int64 = 0x436F_616C

    /// The server the store talks to, without its password.
    package var target: String { connection.target }

    /// Opens the ledger in the database `conninfo` names (a `postgresql://` URL or libpq's
    /// `key=value` pairs). With `create`, makes a new ledger there: the database must exist
    /// and hold no tables. `overrides` are further libpq settings that win over the string's.
    package init(conninfo: String, create: Bool = false, overrides: [(String, String)] = []) throws {
        connection = try Connection(conninfo: conninfo, overrides: overrides)
        let place = Place(file: connection.target)
        try connection.execute("SET client_min_messages = warning")
        switch try Schema.inspect(connection) {
        case .empty:
            guard create else {
                throw CoalitionError(.noLedger, "no ledger in this database: run `coalition init` first", at: place)
            }
            try Schema.create(connection)
        case .foreign:
            throw CoalitionError(
                .notALedger,
                "this database holds tables that are not a Coalition ledger; it was left untouched",
                at: place
            )
        case .ledger(let version):
            if create { throw CoalitionError(.ledgerExists, "a ledger already exists in this database", at: place) }
            guard version <= Int64(Schema.migrations.count) else {
                throw CoalitionError(
                    .newerSchema,
                    "this ledger has schema version \(version), newer than this coalition (\(Schema.migrations.count)); "
                        + "it was left untouched: use a newer coalition",
                    at: place
                )
            }
            try Schema.migrate(connection)
        }
    }

    /// Whether `text` names a PostgreSQL database (a `postgresql://` or `postgres://` URL)
    /// rather than a file.
    package static func isConnectionString(_ text: String) -> Bool {
        text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
    }

    /// `conninfo` without its password, for messages.
    package static func redacted(_ conninfo: String) -> String { Connection.redacted(conninfo) }

    // MARK: Loading

    /// Whether the last `load` read the saved snapshot (otherwise it read the tables).
    package private(set) var loadedFromSnapshot = false

    package func load() throws -> LedgerSnapshot {
        let (state, fromSnapshot) = try readOnly { try StateLoader(connection: connection).load(useSnapshot: true) }
        loadedFromSnapshot = fromSnapshot
        knownHead = (state.lastBatch, state.lastSeq)
        return state
    }

    /// The state as the tables hold it, whatever the snapshot says.
    package func loadFromTables() throws -> LedgerSnapshot {
        try readOnly { try StateLoader(connection: connection).load(useSnapshot: false).state }
    }

    /// Where `state`, loaded from the snapshot, differs from what the tables hold (none when
    /// it was loaded from the tables): for the audit, as the SQLite store's state file.
    package func snapshotProblems(_ state: LedgerSnapshot) throws -> [String] {
        guard loadedFromSnapshot else { return [] }
        return SavedState.differences(saved: state, tables: try loadFromTables(), named: "saved snapshot")
    }

    /// Saves `state` as the snapshot (`SnapshotTable`), if it is the state the tables stand
    /// at now. Outside a batch only.
    package func saveState(_ state: LedgerSnapshot) throws {
        guard openBatch == nil else { return }
        try SnapshotTable.save(state, connection)
    }

    /// Runs `body` in a read-only transaction that sees one state of the ledger throughout
    /// (or in the open batch's transaction).
    package func readOnly<T>(_ body: () throws -> T) throws -> T {
        if connection.isInTransaction { return try body() }
        try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        do {
            let value = try body()
            try connection.execute("COMMIT")
            return value
        } catch {
            _ = try? connection.execute("ROLLBACK")
            throw error
        }
    }

    // MARK: Writing

    package func begin() throws {
        if connection.isInTransaction { _ = try? connection.execute("ROLLBACK") }
        try connection.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        do {
            _ = try connection.query("SELECT pg_advisory_xact_lock($1)", [String(PostgreSQLStore.writerLockKey)])
            if let fencingEpoch {
                try WriterLease.checkEpoch(fencingEpoch, connection)
            } else {
                try WriterLease.checkNoWriter(connection)
            }
            let head = try connection.query(
                """
                SELECT (SELECT coalesce(max(id), 0) FROM batches), (SELECT coalesce(max(seq), 0) FROM postings),
                    (SELECT coalesce(max(value), 0) FROM counters WHERE name = 'lot')
                """
            )
            let batch = head.int64(0, 0)
            let seq = head.int64(0, 1)
            if let knownHead, knownHead != (batch, seq) {
                throw CoalitionError(
                    .storeFailure,
                    "another process wrote to this ledger since it was loaded (batch \(batch), posting \(seq), "
                        + "not \(knownHead.batch), \(knownHead.seq)); nothing was written: open it again",
                    at: Place(file: connection.target)
                )
            }
            openBatch = OpenBatch(lastSeq: seq, lotCounter: head.int64(0, 2))
        } catch {
            _ = try? connection.execute("ROLLBACK")
            throw error
        }
    }

    package func rollback() {
        openBatch = nil
        _ = try? connection.execute("ROLLBACK")
    }

    package func write(_ write: LedgerWrite) throws {
        guard openBatch != nil else {
            throw CoalitionError(.storeFailure, "a chunk was written with no batch open")
        }
        openBatch?.prefetched = [:]
        for (key, points) in write.qualifying { openBatch?.qualifying[key] = points }
        if let last = write.postings.lastSeq { openBatch?.lastSeq = last }
        var lotCounter = openBatch?.lotCounter ?? 0
        try ChunkWriter.write(write, to: connection, lotCounter: &lotCounter)
        openBatch?.lotCounter = lotCounter
    }

    package func finish(_ summary: BatchSummary) throws {
        guard let batch = openBatch else {
            throw CoalitionError(.storeFailure, "a batch was finished with none open")
        }
        openBatch = nil
        do {
            try ChunkWriter.write(qualifying: batch.qualifying, to: connection)
            let values: [String?] = [
                String(summary.id), summary.info.partner?.rawValue, summary.info.sequence.map(String.init),
                summary.info.source, String(summary.info.receivedAt.seconds), String(summary.records),
                String(summary.accepted), String(summary.rejected), summary.firstSeq.map(String.init),
                summary.lastSeq.map(String.init), summary.fileSignature,
                summary.fileCreatedAt.map { String($0.seconds) }, summary.ackKeyID,
                summary.ackCreatedAt.map { String($0.seconds) }, summary.ackSignature,
            ]
            _ = try connection.query(
                """
                INSERT INTO batches (id, partner, sequence, source, received_at, records, accepted, rejected,
                    first_seq, last_seq, file_signature, file_created_at, ack_key_id, ack_created_at, ack_signature)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                """,
                values
            )
            try insert(summary.events, at: summary.info.receivedAt)
            if let fencingEpoch { try WriterLease.renewForCommit(fencingEpoch, connection) }
            try connection.execute("COMMIT")
            knownHead = (summary.id, batch.lastSeq)
        } catch {
            rollback()
            throw error
        }
    }

    // MARK: Reading

    static let postingColumns = StoreSQL.postingColumns

    func readPosting(_ rows: Rows, _ row: Int, validatingLegs: Bool = true) throws -> Posting {
        try StoredRows.posting(rows[row], validatingLegs: validatingLegs)
    }

    package func posting(seq: Int64) throws -> Posting? {
        if let (_, posting) = openBatch?.prefetched[seq] { return posting }
        let rows = try connection.query(
            "SELECT \(PostgreSQLStore.postingColumns) FROM postings WHERE seq = $1",
            [String(seq)]
        )
        return rows.count > 0 ? try readPosting(rows, 0, validatingLegs: false) : nil
    }

    /// The postings `seqs` with their records as applied, in one query.
    package func prefetch(seqs: [Int64]) throws {
        guard openBatch != nil, !seqs.isEmpty else { return }
        let rows = try connection.query(
            """
            SELECT \(PostgreSQLStore.postingColumns.split(separator: ", ").map { "p.\($0)" }.joined(separator: ", ")),
                coalesce(r.units, 0)
            FROM postings p LEFT JOIN reversed r USING (seq) WHERE p.seq = ANY($1::bigint[])
            """,
            [ArrayLiteral.integers(Array(Set(seqs)))]
        )
        var found: [Int64: (AppliedRecord?, Posting)] = [:]
        for row in 0..<rows.count {
            let posting = try readPosting(rows, row, validatingLegs: false)
            let applied = StoredRows.appliedRecord(of: posting, reversedUnits: rows.int64(row, 13))
            found[posting.seq] = (applied, posting)
        }
        openBatch?.prefetched = found
    }

    package func appliedRecord(seq: Int64) throws -> AppliedRecord? {
        if let (applied, _) = openBatch?.prefetched[seq] { return applied }
        let rows = try connection.query(
            """
            SELECT partner, record_id, kind, units, coalesce((SELECT units FROM reversed r WHERE r.seq = p.seq), 0)
            FROM postings p WHERE seq = $1 AND record_id IS NOT NULL
            """,
            [String(seq)]
        )
        guard rows.count > 0 else { return nil }
        return try StoredRows.appliedRecord(rows[0], seq: seq)
    }

    package func forEachPosting(in range: ClosedRange<Int64>, _ body: (Posting) throws -> Void) throws {
        try readOnly {
            try connection.forEachRow(
                "SELECT \(PostgreSQLStore.postingColumns) FROM postings WHERE seq BETWEEN $1 AND $2 ORDER BY seq",
                [String(range.lowerBound), String(range.upperBound)]
            ) { rows, row in try body(try readPosting(rows, row)) }
        }
    }

    package func expiredLot(_ id: Int64) throws -> ExpiredLot? {
        let rows = try connection.query(
            "SELECT \(StoreSQL.expiredLotColumns) FROM expired_lots WHERE id = $1",
            [String(id)]
        )
        guard rows.count > 0 else { return nil }
        return try StoredRows.expiredLot(rows[0], id: id)
    }
}
