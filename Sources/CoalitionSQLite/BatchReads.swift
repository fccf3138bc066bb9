import CoalitionKit
import CoalitionStoreSupport

/// The engine's reads during a batch, answered without waiting for the queued chunks:
/// postings of the last few chunks from memory, postings committed before the batch from
/// the read-only connection, postings written earlier in the batch from the writer's own
/// connection between two of its rows (`ConnectionGate`); the batch's own changes laid over
/// them (`OpenBatch`).
extension SQLiteStore {
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

    static let postingColumns = StoreSQL.postingColumns

    func readPosting(_ s: Statement, validatingLegs: Bool = true) throws -> Posting {
        try StoredRows.posting(s, validatingLegs: validatingLegs)
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

    package func posting(seq: Int64) throws -> Posting? {
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
    package func prefetch(seqs: [Int64]) throws {
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

    package func forEachPosting(in range: ClosedRange<Int64>, _ body: (Posting) throws -> Void) throws {
        try writer.drain()
        let s = try database.statement(
            "SELECT \(SQLiteStore.postingColumns) FROM postings WHERE seq BETWEEN ? AND ? ORDER BY seq"
        )
        defer { s.reset() }  // ends the read: no snapshot is kept open
        s.bind(1, range.lowerBound)
        s.bind(2, range.upperBound)
        while try s.step() { try body(try readPosting(s)) }
    }

    package func appliedRecord(seq: Int64) throws -> AppliedRecord? {
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
        guard let applied = StoredRows.appliedRecord(of: posting, reversedUnits: s.int64(13)) else { return nil }
        return (applied, posting)
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
        return try StoredRows.appliedRecord(s, seq: seq)
    }
}
