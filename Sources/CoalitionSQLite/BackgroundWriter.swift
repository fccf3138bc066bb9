import CoalitionKit
import Dispatch
import Foundation
import Synchronization

/// Writes the chunks of an open batch on a second thread, so that SQLite inserts chunk *k*
/// while the engine plans chunk *k + 1* on the caller's.
///
/// At most `depth` chunks wait or are being written; `enqueue` blocks beyond that, so a
/// fast engine never piles chunks up in memory. A chunk that fails to write is remembered,
/// the chunks after it are skipped (the batch is lost anyway), and every `drain()` (which
/// every other use of the connection calls first) throws the failure until `reset()`: a
/// batch with a lost chunk can only be rolled back, never committed.
package final class BackgroundWriter: @unchecked Sendable {
    // @unchecked Sendable: `database`, `failure`, `writtenThrough` and `qualifying` are used
    // by the writer thread only while it holds `gate`, and by the store's caller only while it
    // holds the gate (`readWritten`) or after `drain()` has waited on `queue` until it is idle.
    private let queue = DispatchQueue(label: "coalition.sqlite.writer")
    private let slots: DispatchSemaphore
    private let database: Database
    private let gate = ConnectionGate()
    private var failure: (any Error)?
    /// The last posting of the chunks written so far in the open batch.
    private var writtenThrough: Int64 = 0
    /// Chunks written, for the caller's thread to free.
    private let written = Mutex<[LedgerWrite]>([])
    /// The qualifying days the open batch's chunks changed, as the last of them left each;
    /// written once, when the batch finishes (`ChunkWriter.write(qualifying:to:)`).
    private var qualifying: [QualifyingKey: Int64] = [:]

    init(database: Database, depth: Int = 2) {
        self.database = database
        slots = DispatchSemaphore(value: depth)
    }

    /// Queues `write` to be written after the chunks queued before it.
    func enqueue(_ write: LedgerWrite) {
        // The chunks written since the last call are freed here, on the thread that made
        // them: memory freed on another thread's heap takes that heap's lock.
        freeWritten()
        slots.wait()
        freeWritten()  // the chunk whose slot was just given back
        queue.async { [self] in
            defer {
                written.withLock { $0.append(write) }
                slots.signal()
            }
            gate.enter()
            defer { gate.leave() }
            guard failure == nil else { return }
            do {
                try ChunkWriter.write(write, to: database, gate: gate)
                if let last = write.postings.lastSeq { writtenThrough = last }
                for (key, points) in write.qualifying { qualifying[key] = points }
            } catch {
                failure = error
            }
        }
    }

    /// Frees the chunks written since last asked, on the caller's thread.
    private func freeWritten() {
        let done = written.withLock { list in
            defer { list.removeAll(keepingCapacity: true) }
            return list
        }
        withExtendedLifetime(done) {}
    }

    /// Runs `body` on the connection if posting `seq` is written already, between two of the
    /// writer's statements instead of after the chunks still queued; nil if it is not.
    /// Throws the batch's failure, if a chunk was lost.
    func readWritten<T>(seq: Int64, _ body: (Database) throws -> T) throws -> T? {
        try gate.read {
            if let failure { throw failure }
            guard seq <= writtenThrough else { return nil }
            return try body(database)
        }
    }

    /// Waits until every queued chunk is written; throws the first failure of the batch.
    package func drain() throws {
        try queue.sync {
            if let failure { throw failure }
        }
        written.withLock { $0.removeAll() }
    }

    /// Waits until every queued chunk is written and frees them, then writes the batch's
    /// qualifying days: the batch's last write but for its own row. Throws the first failure
    /// of the batch.
    func finish() throws {
        try drain()
        // The queue is idle: the connection and `qualifying` are the caller's.
        try ChunkWriter.write(qualifying: &qualifying, to: database)
    }

    /// Waits for the queue and forgets a failure: the batch it belonged to is rolled back.
    func reset() {
        queue.sync {
            failure = nil
            writtenThrough = 0
            qualifying = [:]
        }
        written.withLock { $0.removeAll() }
    }
}

/// One connection shared by the writer thread, which holds the gate for a whole chunk, and
/// the store's caller, which reads through it now and then during a batch (the posting a
/// reversal undoes, written earlier in the same batch). The writer offers the gate after
/// every row, and gives it up only when a reader waits: the reader waits for one row, not for
/// the chunks still queued. SQLite allows a connection on several threads, one at a time.
final class ConnectionGate: @unchecked Sendable {
    // @unchecked Sendable: `lock` orders every use of the connection; `waiting` is atomic.
    private let lock = NSLock()
    private let waiting = Atomic<Int>(0)

    /// The writer takes the gate for a chunk …
    func enter() { lock.lock() }
    /// … and lets it go when done.
    func leave() { lock.unlock() }

    /// Between two rows: a waiting reader goes first.
    @inline(__always)
    func yield() {
        guard waiting.load(ordering: .relaxed) > 0 else { return }
        lock.unlock()
        // Until the reader has the gate; then wait for it to be done.
        while waiting.load(ordering: .acquiring) > 0 { sched_yield() }
        lock.lock()
    }

    /// Runs `body` holding the gate, as soon as the writer is between two rows.
    func read<T>(_ body: () throws -> T) rethrows -> T {
        waiting.add(1, ordering: .relaxed)
        lock.lock()
        waiting.subtract(1, ordering: .releasing)
        defer { lock.unlock() }
        return try body()
    }
}
