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
public final class SQLiteStore: LedgerStore {
    let database: Database
    let writer: BackgroundWriter
    /// A read-only connection: sees what is committed, never the open batch.
    private var reader: Database?
    var openBatch: OpenBatch?

    /// What the store keeps in memory of the open batch.
    struct OpenBatch {
        /// The last posting committed before the batch began.
        let committedSeq: Int64
        /// The postings of the last chunks written or being written, oldest first.
        var recent: [PostingRows] = []
        /// Reversed units of postings that the batch changed, as they now stand.
        var reversedUnits: [Int64: Int64] = [:]
        /// Expired lots the batch wrote or changed.
        var expiredLots: [Int64: ExpiredLot] = [:]
        /// The last posting read back for its record (a reversal's original, from memory or
        /// the database): the engine asks for the posting itself next. Postings do not change
        /// once written, and this goes with the batch, so it never outlives a rollback.
        var lastRead: Posting?
        /// Postings read ahead for the chunk being planned, with their records as stored
        /// (`prefetch`): the originals of its reversals.
        var prefetched: [Int64: (AppliedRecord?, Posting)] = [:]

        /// Four chunks (about 3.5 MiB each) hold most originals of a bench file's reversals;
        /// the others are read ahead from SQLite once a chunk. Six held nearly all, but the
        /// batch's qualifying days, which the writer keeps until the batch ends, need the room.
        static let recentChunks = 4

        /// `record` with the reversed units the batch's reversals left it.
        func overlaid(_ record: AppliedRecord?) -> AppliedRecord? {
            guard let record, let units = reversedUnits[record.entry.seq] else { return record }
            let entry = record.entry
            return AppliedRecord(
                key: record.key,
                entry: RecordEntry(seq: entry.seq, kind: entry.kind, units: entry.units, reversedUnits: units)
            )
        }

        /// Posting `seq` if one of the recent chunks made it.
        func recentPosting(_ seq: Int64) -> Posting? {
            for postings in recent.reversed() {
                guard let first = postings.firstSeq, seq >= first else { continue }
                return postings.posting(seq: seq)
            }
            return nil
        }

        /// Whether one of the recent chunks made posting `seq` (no posting is made to say so).
        func holdsRecent(_ seq: Int64) -> Bool {
            recent.contains { postings in
                guard let first = postings.firstSeq, let last = postings.lastSeq else { return false }
                return (first...last).contains(seq)
            }
        }
    }

    /// `Coal` in ASCII.
    static let applicationID: Int64 = 0x436F_616C

    /// Opens the ledger at `path`. With `create`, makes a new one (the file must not exist).
    public init(path: String, create: Bool = false) throws {
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

    public var path: String { database.path }

    // MARK: Loading

    /// Where the state is saved between processes: see `StateFile`.
    public var stateFilePath: String { StateFile.path(for: database.path) }

    /// Whether the last `load` read the saved state file (otherwise it read the tables).
    public private(set) var loadedFromStateFile = false

    /// The mark of the state the state file holds, as far as this store knows: a state
    /// already saved is not written again.
    private var savedMark: StateMark?

    public func load() throws -> LedgerSnapshot {
        try writer.drain()
        let (state, fromFile) = try StateLoader(database: database).load(stateFile: stateFilePath)
        loadedFromStateFile = fromFile
        savedMark = fromFile ? StateMark(state) : nil
        return state
    }

    /// The state as the tables hold it, whatever the state file says.
    public func loadFromTables() throws -> LedgerSnapshot {
        try writer.drain()
        return try StateLoader(database: database).load(stateFile: nil).state
    }

    /// Where `state`, loaded from the state file, differs from what the tables hold (none
    /// when it was loaded from the tables): for the audit, since a state file that passed its
    /// checks must still be exactly the tables' state.
    public func stateFileProblems(_ state: LedgerSnapshot) throws -> [String] {
        guard loadedFromStateFile else { return [] }
        let tables = try loadFromTables()
        var problems: [String] = []
        func problem(_ text: String) {
            if problems.count < 20 { problems.append("the state file's \(text) is not what the tables hold") }
        }
        if StateMark(state) != StateMark(tables) { problem("mark (last batch, posting, hash, counters)") }
        for number in Set(state.members.keys).union(tables.members.keys).sorted()
        where state.members[number] != tables.members[number] {
            problem("member \(number)")
        }
        for key in Set(state.accounts.keys).union(tables.accounts.keys).sorted()
        where state.accounts[key] != tables.accounts[key] {
            problem("balance of \(key.account) in \(key.unit)")
        }
        for number in Set(state.referrals.links.keys).union(tables.referrals.links.keys).sorted()
        where state.referrals.links[number] != tables.referrals.links[number] {
            problem("referral of member \(number)")
        }
        return problems
    }

    /// Saves `state` to the state file, if it is the state the tables stand at now and the
    /// file does not hold it already. Outside a batch only.
    public func saveState(_ state: LedgerSnapshot) throws {
        guard openBatch == nil else { return }
        try writer.drain()
        let mark = StateMark(state)
        // A ledger another process (or another `Ledger` of this one) has moved on is not saved.
        guard mark != savedMark, try StateMark.current(database) == mark else { return }
        try StateFile.write(state, mark: mark, to: stateFilePath)
        savedMark = mark
    }

    // MARK: Writing

    public func begin() throws {
        writer.reset()
        // Another connection may have written the outbox since (`coalition events`).
        database.resetStatements()
        try database.execute("BEGIN IMMEDIATE")
        openBatch = OpenBatch(committedSeq: try database.integer("SELECT coalesce(max(seq), 0) FROM postings") ?? 0)
    }

    public func rollback() {
        writer.reset()
        try? database.execute("ROLLBACK")
        openBatch = nil
    }

    /// Hands the chunk to the writer thread; a failure to write it is thrown by the next
    /// call that waits for the writes (at the latest `finish`).
    public func write(_ write: LedgerWrite) throws {
        guard var batch = openBatch else {
            throw CoalitionError(.storeFailure, "a chunk was written with no batch open")
        }
        openBatch = nil  // the copy below is then the only one: no copy-on-write
        for (seq, units) in write.reversedUnits { batch.reversedUnits[seq] = units }
        for (id, lot) in write.expiredLots { batch.expiredLots[id] = lot }
        if !write.postings.isEmpty {
            batch.recent.append(write.postings)
            if batch.recent.count > OpenBatch.recentChunks { batch.recent.removeFirst() }
        }
        openBatch = batch
        writer.enqueue(write)
    }

    public func finish(_ summary: BatchSummary) throws {
        // Nothing reads back any more: the chunks kept for it are freed before the last rows.
        openBatch = nil
        do {
            try writer.finish()
            let batch = try database.statement(
                """
                INSERT INTO batches (id, partner, sequence, source, received_at, records, accepted, rejected,
                    first_seq, last_seq, file_signature, file_created_at, ack_key_id, ack_created_at, ack_signature)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
            )
            batch.bind(1, summary.id)
            batch.bind(2, summary.info.partner?.rawValue)
            batch.bind(3, summary.info.sequence)
            batch.bind(4, summary.info.source)
            batch.bind(5, summary.info.receivedAt.seconds)
            batch.bind(6, Int64(summary.records))
            batch.bind(7, Int64(summary.accepted))
            batch.bind(8, Int64(summary.rejected))
            batch.bind(9, summary.firstSeq)
            batch.bind(10, summary.lastSeq)
            batch.bind(11, summary.fileSignature)
            batch.bind(12, summary.fileCreatedAt?.seconds)
            batch.bind(13, summary.ackKeyID)
            batch.bind(14, summary.ackCreatedAt?.seconds)
            batch.bind(15, summary.ackSignature)
            try batch.run()
            try insert(summary.events, at: summary.info.receivedAt)
            try Failpoint.reach("store.before-commit")
            try database.execute("COMMIT")
        } catch {
            rollback()
            throw error
        }
        try Failpoint.reach("store.after-commit")
    }

    // MARK: Reading

    static let postingColumns =
        "seq, batch, kind, partner, record_id, member, occurred, units, points, legs, detail, hash, counterparty"

    func readPosting(_ s: Statement, validatingLegs: Bool = true) throws -> Posting {
        let seq = s.int64(0)
        guard let kind = PostingKind(rawValue: Int(s.int64(2))) else {
            throw CoalitionError(.auditFailed, "posting \(seq) has an unknown kind \(s.int64(2))")
        }
        let legsText = s.string(9)
        // Readers that use the legs (audit, statements) check them; the engine reading back
        // the posting a reversal undoes needs only its record and detail.
        if validatingLegs && Posting.decodeLegs(legsText) == nil {
            throw CoalitionError(.auditFailed, "posting \(seq) has legs that do not parse")
        }
        return Posting(
            seq: seq,
            batch: s.int64(1),
            kind: kind,
            partner: try s.optionalString(3).map { try PartnerID(stored: $0) },
            recordID: s.optionalString(4),
            member: try s.optionalInt64(5).map { try MemberNumber(stored: $0) },
            occurredAt: Timestamp(seconds: s.int64(6)),
            units: s.int64(7),
            points: s.int64(8),
            legsText: legsText,
            detail: s.string(10),
            hash: s.bytes(11),
            counterparty: try s.optionalInt64(12).map { try MemberNumber(stored: $0) }
        )
    }

    /// The connection a read during the open batch goes to: the read-only one for what was
    /// committed before the batch (opened at first use), else the writer's own once its
    /// writes are done.
    func connection(committed: Bool) throws -> Database {
        if committed {
            if let reader { return reader }
            let opened = try Database(path: database.path, create: false, readOnly: true)
            reader = opened
            return opened
        }
        try writer.drain()
        return database
    }

    public func posting(seq: Int64) throws -> Posting? {
        func read(_ source: Database) throws -> Posting? {
            let s = try source.statement("SELECT \(SQLiteStore.postingColumns) FROM postings WHERE seq = ?")
            defer { s.reset() }  // ends the read: no snapshot is kept open
            s.bind(1, seq)
            return try s.step() ? try readPosting(s, validatingLegs: false) : nil
        }
        if let batch = openBatch {
            if let posting = batch.lastRead, posting.seq == seq { return posting }
            if let posting = batch.recentPosting(seq) { return posting }
            if let (_, posting) = batch.prefetched[seq] { return posting }
            // The batch's own postings do not change once written (their reversed units are
            // kept apart, in the reversed table, and are not part of a `Posting`).
            if seq > batch.committedSeq, let posting = try writer.readWritten(seq: seq, read) { return posting }
        }
        return try read(try connection(committed: openBatch.map { seq <= $0.committedSeq } ?? false))
    }

    /// Reads the postings the batch wrote earlier (and not held in memory) in one turn on
    /// the writer's connection, and those committed before the batch from the reader's:
    /// one wait for the writer a chunk instead of one for each reversal.
    public func prefetch(seqs: [Int64]) throws {
        guard var batch = openBatch else { return }
        openBatch = nil  // the copy is then the only one: no copy-on-write
        defer { openBatch = batch }
        batch.prefetched.removeAll(keepingCapacity: true)
        var written: [Int64] = []
        var committed: [Int64] = []
        for seq in Set(seqs) where !batch.holdsRecent(seq) {
            if seq <= batch.committedSeq { committed.append(seq) } else { written.append(seq) }
        }
        func read(_ seqs: [Int64], from source: Database) throws {
            for seq in seqs.sorted() {
                guard let (applied, posting) = try readAppliedPosting(seq: seq, from: source) else { continue }
                batch.prefetched[seq] = (applied, posting)
            }
        }
        if !committed.isEmpty { try read(committed, from: try connection(committed: true)) }
        // Read once the writer is between two rows; a posting of a chunk it has not reached
        // yet is not found, and is read when asked for.
        guard let first = written.min() else { return }
        _ = try writer.readWritten(seq: first) { database in try read(written, from: database) }
    }

    public func forEachPosting(in range: ClosedRange<Int64>, _ body: (Posting) throws -> Void) throws {
        try writer.drain()
        let s = try database.statement(
            "SELECT \(SQLiteStore.postingColumns) FROM postings WHERE seq BETWEEN ? AND ? ORDER BY seq"
        )
        defer { s.reset() }  // ends the read: no snapshot is kept open
        s.bind(1, range.lowerBound)
        s.bind(2, range.upperBound)
        while try s.step() { try body(try readPosting(s)) }
    }

    public func appliedRecord(seq: Int64) throws -> AppliedRecord? {
        if let batch = openBatch {
            // A posting of this batch is new: its reversed units are the batch's, or none.
            if let posting = batch.recentPosting(seq) {
                openBatch?.lastRead = posting  // the reversal asks for it next: made once
                guard let key = posting.recordKey else { return nil }
                let units = batch.reversedUnits[seq] ?? 0
                let entry = RecordEntry(seq: seq, kind: posting.kind, units: posting.units, reversedUnits: units)
                return AppliedRecord(key: key, entry: entry)
            }
            // Committed before the batch, or written earlier in it: either way the batch's
            // reversals may have changed its reversed units since.
            if let (applied, _) = batch.prefetched[seq] { return batch.overlaid(applied) }
            // The whole posting is read, and kept for the reversal that asks for it next.
            let read: (AppliedRecord, Posting)??
            if seq <= batch.committedSeq {
                read = try readAppliedPosting(seq: seq, from: try connection(committed: true))
            } else {
                read = try writer.readWritten(seq: seq) { try readAppliedPosting(seq: seq, from: $0) }
            }
            if let read {
                openBatch?.lastRead = read?.1
                return batch.overlaid(read?.0)
            }
        }
        return try readAppliedRecord(seq: seq, from: try connection(committed: false))
    }

    /// Posting `seq` with its record as applied, if it has a record.
    private func readAppliedPosting(seq: Int64, from source: Database) throws -> (AppliedRecord, Posting)? {
        let s = try source.statement(
            """
            SELECT \(SQLiteStore.postingColumns), (SELECT units FROM reversed WHERE reversed.seq = postings.seq)
            FROM postings WHERE seq = ? AND record_id IS NOT NULL
            """
        )
        defer { s.reset() }  // ends the read: no snapshot is kept open
        s.bind(1, seq)
        guard try s.step() else { return nil }
        let posting = try readPosting(s, validatingLegs: false)
        guard let key = posting.recordKey else { return nil }
        let entry = RecordEntry(seq: seq, kind: posting.kind, units: posting.units, reversedUnits: s.int64(13))
        return (AppliedRecord(key: key, entry: entry), posting)
    }

    private func readAppliedRecord(seq: Int64, from source: Database) throws -> AppliedRecord? {
        let s = try source.statement(
            """
            SELECT partner, record_id, kind, units, (SELECT units FROM reversed WHERE reversed.seq = postings.seq)
            FROM postings WHERE seq = ? AND record_id IS NOT NULL
            """
        )
        defer { s.reset() }  // ends the read: no snapshot is kept open
        s.bind(1, seq)
        guard try s.step() else { return nil }
        guard let kind = PostingKind(rawValue: Int(s.int64(2))) else {
            throw CoalitionError(.storeFailure, "posting \(seq) has an unknown kind \(s.int64(2))")
        }
        return AppliedRecord(
            key: RecordKey(stored: try PartnerID(stored: s.string(0)), s.string(1)),
            entry: RecordEntry(seq: seq, kind: kind, units: s.int64(3), reversedUnits: s.int64(4))
        )
    }

    /// Runs raw SQL against the ledger file: for tests that tamper with it on purpose.
    public func executeForTesting(_ sql: String) throws {
        try writer.drain()
        try database.execute(sql)
    }

    /// Every row of every table as text, in a fixed order: two ledgers with the same content
    /// give the same dump.
    public func contentDump() throws -> String {
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

extension SQLiteStore {
    /// The page size of a new ledger, in bytes. A batch writes every page it touches to the
    /// WAL once, and SQLite looks for each page its cache misses in the WAL index, one hash
    /// table per 4,096 frames: at 16 KiB a page there are a quarter as many frames for the
    /// same bytes, so a long file's WAL-index search, and the kernel's zeroing of the WAL's
    /// partly written blocks (a frame is 24 bytes longer than a page), shrink with them. At
    /// 10M records they were a quarter of the writer's time at 4 KiB, SQLite's default, and
    /// are a twentieth at 16 KiB (docs/performance.md). A ledger made with another size
    /// keeps it.
    static let pageSize = 16_384

    /// Settings for a single writer with large batches: a 32 MiB page cache, so index pages
    /// of a big batch stay in memory, and temporary structures in memory.
    static func tune(_ database: Database) throws {
        try database.execute("PRAGMA cache_size = -32768")
        try database.execute("PRAGMA temp_store = MEMORY")
    }

    /// The limit the benchmark compares ingestion with: inserting `rows` rows of a text key
    /// and a few integers into a table with one unique text index, in one transaction, with
    /// the ledger's durability settings. Returns the seconds it took.
    public static func bareInsertSeconds(rows: Int, directory: String) throws -> Double {
        let path = directory + "/bare-insert.sqlite"
        let database = try Database(path: path, create: true)
        try database.execute("PRAGMA page_size = \(pageSize)")
        try database.execute("PRAGMA journal_mode = WAL")
        try database.execute("PRAGMA synchronous = FULL")
        try tune(database)
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
