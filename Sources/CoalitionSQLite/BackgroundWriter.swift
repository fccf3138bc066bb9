import CoalitionKit
import Dispatch

/// Writes the chunks of an open batch on a second thread, so that SQLite inserts chunk *k*
/// while the engine plans chunk *k + 1* on the caller's.
///
/// At most `depth` chunks wait or are being written; `enqueue` blocks beyond that, so a
/// fast engine never piles chunks up in memory. A chunk that fails to write is remembered,
/// the chunks after it are skipped (the batch is lost anyway), and every `drain()` (which
/// every other use of the connection calls first) throws the failure until `reset()`: a
/// batch with a lost chunk can only be rolled back, never committed.
final class BackgroundWriter: @unchecked Sendable {
    // @unchecked Sendable: `database` and `failure` are used on `queue` while chunks are in
    // flight, and by the store's caller only after `drain()` has waited on `queue` until it
    // is idle; the queue's synchronisation orders the two.
    private let queue = DispatchQueue(label: "coalition.sqlite.writer")
    private let slots: DispatchSemaphore
    private let database: Database
    private var failure: (any Error)?

    init(database: Database, depth: Int = 2) {
        self.database = database
        slots = DispatchSemaphore(value: depth)
    }

    /// Queues `write` to be written after the chunks queued before it. `garbage` is
    /// released on the writer's thread too: freeing thousands of postings is work the
    /// caller's thread need not do.
    func enqueue(_ write: LedgerWrite, releasing garbage: [Posting] = []) {
        slots.wait()
        queue.async { [self] in
            defer {
                withExtendedLifetime(garbage) {}
                slots.signal()
            }
            guard failure == nil else { return }
            do {
                try ChunkWriter.write(write, to: database)
            } catch {
                failure = error
            }
        }
    }

    /// Waits until every queued chunk is written; throws the first failure of the batch.
    func drain() throws {
        try queue.sync {
            if let failure { throw failure }
        }
    }

    /// Waits for the queue and forgets a failure: the batch it belonged to is rolled back.
    func reset() {
        queue.sync { failure = nil }
    }
}
