import CoalitionFiles
import CoalitionKit

/// The batch's writes: a transaction from `begin` to `finish`, its chunks handed to the
/// writer thread (`BackgroundWriter`, `ChunkWriter`), and what the batch reads back kept in
/// memory as it goes (`OpenBatch`).
extension SQLiteStore {
    package func begin() throws {
        writer.reset()
        // Another connection may have written the outbox since (`coalition events`).
        database.resetStatements()
        try database.execute("BEGIN IMMEDIATE")
        openBatch = OpenBatch(committedSeq: try database.integer("SELECT coalesce(max(seq), 0) FROM postings") ?? 0)
    }

    package func rollback() {
        writer.reset()
        try? database.execute("ROLLBACK")
        openBatch = nil
    }

    /// Hands the chunk to the writer thread; a failure to write it is thrown by the next
    /// call that waits for the writes (at the latest `finish`).
    package func write(_ write: LedgerWrite) throws {
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

    package func finish(_ summary: BatchSummary) throws {
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
}
