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
    private var openBatch: OpenBatch?

    /// What the store keeps in memory of the open batch.
    private struct OpenBatch {
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

    private func readPosting(_ s: Statement, validatingLegs: Bool = true) throws -> Posting {
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
    private func connection(committed: Bool) throws -> Database {
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

    public func expiredLot(_ id: Int64) throws -> ExpiredLot? {
        if let batch = openBatch, let lot = batch.expiredLots[id] { return lot }
        // An expired lot the open batch did not change is as it was committed.
        let source = try connection(committed: openBatch != nil)
        let s = try source.statement(
            "SELECT member, issuer, points, expired_at, reversed FROM expired_lots WHERE id = ?"
        )
        defer { s.reset() }  // ends the read: no snapshot is kept open
        s.bind(1, id)
        guard try s.step() else { return nil }
        return ExpiredLot(
            lotID: id,
            member: try MemberNumber(stored: s.int64(0)),
            issuer: try PartnerID(s.string(1)),
            points: s.int64(2),
            expiredAt: Timestamp(seconds: s.int64(3)),
            reversed: s.int64(4)
        )
    }

    public func tierChanges(member: MemberNumber) throws -> [TierChange] {
        try writer.drain()
        let s = try database.statement(
            "SELECT at, from_tier, to_tier, reason FROM tier_changes WHERE member = ? ORDER BY rowid"
        )
        defer { s.reset() }  // ends the read: no snapshot is kept open
        s.bind(1, Int64(bitPattern: member.value))
        var out: [TierChange] = []
        while try s.step() {
            out.append(
                TierChange(
                    member: member,
                    at: Timestamp(seconds: s.int64(0)),
                    from: s.string(1),
                    to: s.string(2),
                    reason: s.string(3)
                )
            )
        }
        return out
    }

    public func postings(member: MemberNumber, in range: ClosedRange<Timestamp>) throws -> [Posting] {
        try writer.drain()
        let s = try database.statement(
            """
            SELECT \(SQLiteStore.postingColumns) FROM postings WHERE member = ?1 AND occurred BETWEEN ?2 AND ?3
            UNION SELECT \(SQLiteStore.postingColumns) FROM postings
            WHERE counterparty = ?1 AND occurred BETWEEN ?2 AND ?3
            ORDER BY seq
            """
        )
        defer { s.reset() }  // ends the read: no snapshot is kept open
        s.bind(1, Int64(bitPattern: member.value))
        s.bind(2, range.lowerBound.seconds)
        s.bind(3, range.upperBound.seconds)
        var out: [Posting] = []
        while try s.step() { out.append(try readPosting(s)) }
        return out
    }

    public func batch(partner: PartnerID, sequence: Int64) throws -> BatchSummary? {
        try writer.drain()
        let s = try database.statement(
            """
            SELECT id, source, received_at, records, accepted, rejected, first_seq, last_seq, file_signature,
                file_created_at, ack_key_id, ack_created_at, ack_signature
            FROM batches WHERE partner = ? AND sequence = ?
            """
        )
        defer { s.reset() }  // ends the read: no snapshot is kept open
        s.bind(1, partner.rawValue)
        s.bind(2, sequence)
        guard try s.step() else { return nil }
        var summary = BatchSummary(
            id: s.int64(0),
            info: BatchInfo(
                partner: partner,
                sequence: sequence,
                source: s.string(1),
                receivedAt: Timestamp(seconds: s.int64(2))
            )
        )
        summary.records = Int(s.int64(3))
        summary.accepted = Int(s.int64(4))
        summary.rejected = Int(s.int64(5))
        summary.firstSeq = s.optionalInt64(6)
        summary.lastSeq = s.optionalInt64(7)
        summary.fileSignature = s.optionalString(8)
        summary.fileCreatedAt = s.optionalInt64(9).map { Timestamp(seconds: $0) }
        summary.ackKeyID = s.optionalString(10)
        summary.ackCreatedAt = s.optionalInt64(11).map { Timestamp(seconds: $0) }
        summary.ackSignature = s.optionalString(12)
        return summary
    }

    public func lastSequence(partner: PartnerID) throws -> Int64 {
        try writer.drain()
        let s = try database.statement("SELECT coalesce(max(sequence), 0) FROM batches WHERE partner = ?")
        s.bind(1, partner.rawValue)
        return try s.step() ? s.int64(0) : 0
    }

    public func rejections(batch: Int64) throws -> [Rejection] {
        try writer.drain()
        let s = try database.statement(
            "SELECT line, record_id, code, message FROM rejections WHERE batch = ? ORDER BY line, rowid"
        )
        defer { s.reset() }  // ends the read: no snapshot is kept open
        s.bind(1, batch)
        var out: [Rejection] = []
        while try s.step() {
            out.append(
                Rejection(
                    line: Int(s.int64(0)),
                    recordID: s.string(1),
                    code: ReasonCode(s.string(2)),
                    message: s.string(3)
                )
            )
        }
        return out
    }

    /// The cycle an obligation row belongs to, in SQL: the first whose window covers it.
    static let cycleOfObligation =
        "(SELECT min(c.number) FROM cycles c WHERE o.id <= c.watermark AND o.occurred <= c.through)"

    public func obligations(openOnly: Bool) throws -> [Obligation] {
        try readObligations(openOnly ? "WHERE \(SQLiteStore.cycleOfObligation) IS NULL" : "", bind: { _ in })
    }

    public func obligations(causedBy member: MemberNumber) throws -> [Obligation] {
        try readObligations("WHERE member = ?", bind: { $0.bind(1, Int64(bitPattern: member.value)) })
    }

    public func obligations(creditor: PartnerID) throws -> [Obligation] {
        try readObligations("WHERE creditor = ?", bind: { $0.bind(1, creditor.rawValue) })
    }

    public func obligations(cycle number: Int64) throws -> [Obligation] {
        try readObligations("WHERE \(SQLiteStore.cycleOfObligation) = ?", bind: { $0.bind(1, number) })
    }

    public func openObligationTotals(
        through: Timestamp,
        watermark: Int64
    ) throws -> (
        totals: [ObligationTotal], batches: [BatchReference]
    ) {
        try writer.drain()
        // Cycles only move forward: each cut-off is after the last one's and each watermark is
        // at least the last one's, so the obligations every earlier cycle took are exactly
        // those the last cycle's window covers. One pass, no test against each cycle.
        var lastWatermark: Int64 = 0
        var lastThrough = Int64.min
        let last = try database.statement("SELECT watermark, through FROM cycles ORDER BY number DESC LIMIT 1")
        if try last.step() {
            lastWatermark = last.int64(0)
            lastThrough = last.int64(1)
        }
        last.reset()
        let rows = try database.statement(
            """
            SELECT batch, debtor, creditor, currency, sum(amount), sum(points), count(*) FROM obligations
            WHERE id <= ?1 AND occurred <= ?2 AND (id > ?3 OR occurred > ?4)
            GROUP BY batch, debtor, creditor, currency
            """
        )
        defer { rows.reset() }  // ends the read: no snapshot is kept open
        rows.bind(1, watermark)
        rows.bind(2, through.seconds)
        rows.bind(3, lastWatermark)
        rows.bind(4, lastThrough)
        struct Pair: Hashable {
            let debtor: String
            let creditor: String
            let currency: String
        }
        var sums: [Pair: (amount: Int64, points: Int64, count: Int)] = [:]
        var parties: [Int64: Set<String>] = [:]
        while try rows.step() {
            let pair = Pair(debtor: rows.string(1), creditor: rows.string(2), currency: rows.string(3))
            let sum = sums[pair] ?? (0, 0, 0)
            sums[pair] = (
                try Checked.add(sum.amount, rows.int64(4)), try Checked.add(sum.points, rows.int64(5)),
                sum.count + Int(rows.int64(6))
            )
            parties[rows.int64(0), default: []].formUnion([pair.debtor, pair.creditor])
        }
        var totals: [ObligationTotal] = []
        for (pair, sum) in sums.sorted(by: {
            ($0.key.debtor, $0.key.creditor, $0.key.currency) < ($1.key.debtor, $1.key.creditor, $1.key.currency)
        }) {
            totals.append(
                ObligationTotal(
                    debtor: try PartnerID(pair.debtor),
                    creditor: try PartnerID(pair.creditor),
                    currency: try Currency(code: pair.currency),
                    amount: sum.amount,
                    points: sum.points,
                    count: sum.count
                )
            )
        }
        let batch = try database.statement(
            "SELECT partner, sequence FROM batches WHERE id = ? AND sequence IS NOT NULL"
        )
        var references: [BatchReference] = []
        for (id, names) in parties {
            batch.bind(1, id)
            defer { batch.reset() }
            guard try batch.step() else { continue }
            references.append(
                BatchReference(
                    partner: try PartnerID(batch.string(0)),
                    sequence: batch.int64(1),
                    counterparties: Set(try names.map { try PartnerID($0) })
                )
            )
        }
        references.sort { ($0.partner, $0.sequence) < ($1.partner, $1.sequence) }
        return (totals, references)
    }

    public func cycles() throws -> [ClearingCycle] {
        try writer.drain()
        let rows = try database.statement(
            "SELECT number, through, closed_at, watermark, obligations, posting_seq FROM cycles ORDER BY number"
        )
        var heads: [(Int64, Timestamp, Timestamp, Int64, Int, Int64)] = []
        while try rows.step() {
            heads.append(
                (
                    rows.int64(0), Timestamp(seconds: rows.int64(1)), Timestamp(seconds: rows.int64(2)), rows.int64(3),
                    Int(rows.int64(4)), rows.int64(5)
                )
            )
        }
        return try heads.map { head in
            let number = head.0
            var gross: [String: [PartnerID: [PartnerID: Int64]]] = [:]
            let g = try database.statement("SELECT currency, debtor, creditor, amount FROM cycle_gross WHERE cycle = ?")
            g.bind(1, number)
            while try g.step() {
                gross[g.string(0), default: [:]][try PartnerID(g.string(1)), default: [:]][try PartnerID(g.string(2))] =
                    g.int64(3)
            }
            var net: [String: [Participant: Int64]] = [:]
            var fees: [String: [PartnerID: Int64]] = [:]
            let n = try database.statement("SELECT currency, participant, amount, fee FROM cycle_net WHERE cycle = ?")
            n.bind(1, number)
            while try n.step() {
                let participant = try SQLiteStore.participant(n.string(1))
                if n.int64(2) != 0 { net[n.string(0), default: [:]][participant] = n.int64(2) }
                if case .partner(let id) = participant, n.int64(3) != 0 {
                    fees[n.string(0), default: [:]][id] = n.int64(3)
                }
            }
            var instructions: [String: [String: [SettlementInstruction]]] = [:]
            let i = try database.statement(
                "SELECT form, currency, payer, payee, amount FROM cycle_instructions WHERE cycle = ? ORDER BY form, ordinal"
            )
            i.bind(1, number)
            while try i.step() {
                let currency = try Currency(code: i.string(1))
                instructions[i.string(1), default: [:]][i.string(0), default: []].append(
                    SettlementInstruction(
                        currency: currency,
                        payer: try SQLiteStore.participant(i.string(2)),
                        payee: try SQLiteStore.participant(i.string(3)),
                        amount: i.int64(4)
                    )
                )
            }
            let codes = Set(gross.keys).union(net.keys).sorted()
            let clearings = try codes.map { code in
                CurrencyClearing(
                    currency: try Currency(code: code),
                    gross: gross[code] ?? [:],
                    net: net[code] ?? [:],
                    fees: fees[code] ?? [:],
                    centralCounterparty: instructions[code]?["ccp"] ?? [],
                    fewestPayments: instructions[code]?["direct"] ?? []
                )
            }
            var batches: [BatchReference] = []
            let b = try database.statement(
                "SELECT partner, sequence, counterparties FROM cycle_batches WHERE cycle = ? ORDER BY partner, sequence"
            )
            b.bind(1, number)
            while try b.step() {
                batches.append(
                    BatchReference(
                        partner: try PartnerID(b.string(0)),
                        sequence: b.int64(1),
                        counterparties: Set(try b.string(2).split(separator: ",").map { try PartnerID(String($0)) })
                    )
                )
            }
            return ClearingCycle(
                number: number,
                through: head.1,
                closedAt: head.2,
                watermark: head.3,
                obligationCount: head.4,
                postingSeq: head.5,
                clearings: clearings,
                batches: batches
            )
        }
    }

    static func participant(_ text: String) throws -> Participant {
        text == Participant.clearingHouseName ? .clearingHouse : .partner(try PartnerID(text))
    }

    private func readObligations(_ filter: String, bind: (Statement) -> Void) throws -> [Obligation] {
        try writer.drain()
        let s = try database.statement(
            """
            SELECT id, posting, debtor, creditor, currency, amount, points, occurred, source_partner,
                source_record, member, batch, \(SQLiteStore.cycleOfObligation) FROM obligations o \(filter) ORDER BY id
            """
        )
        defer { s.reset() }  // ends the read: no snapshot is kept open
        bind(s)
        var out: [Obligation] = []
        var currencies: [String: Currency] = [:]
        while try s.step() {
            let code = s.string(4)
            let currency = try currencies[code] ?? Currency(code: code)
            currencies[code] = currency
            out.append(
                Obligation(
                    id: s.int64(0),
                    postingSeq: s.int64(1),
                    batch: s.int64(11),
                    debtor: try PartnerID(s.string(2)),
                    creditor: try PartnerID(s.string(3)),
                    currency: currency,
                    amount: s.int64(5),
                    points: s.int64(6),
                    occurredAt: Timestamp(seconds: s.int64(7)),
                    source: try RecordKey(partner: PartnerID(stored: s.string(8)), recordID: s.string(9)),
                    member: try MemberNumber(stored: s.int64(10)),
                    cycle: s.optionalInt64(12)
                )
            )
        }
        return out
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
