import CoalitionKit
import Foundation

/// The ledger's single writer in the server: one thread owns the `Ledger` and runs jobs
/// from a bounded queue, in the order they arrived.
///
/// A caller hands in a job and blocks until it has run; a job that commits returns only
/// after its transaction is durable, so an answer built from its result is never sent
/// before the write it reports. Jobs that arrive while another runs wait in the queue and
/// are taken together, all of them, when it finishes: the writer never sleeps between
/// them. Each settlement file commits in a transaction of its own, because a file is
/// applied whole or not at all (the engine's batch); what a turn groups is the queue, so a
/// burst of writes costs one wake-up of the writer, not one each.
///
/// A full queue refuses a job at once (`WRITER_BUSY`, answered 503 with `Retry-After`)
/// rather than holding an I/O thread. `shutdown()` refuses new jobs (`SHUTTING_DOWN`), runs
/// every job already queued, saves the ledger's state and stops the thread.
///
/// The writer takes a ledger already opened, so whoever runs the server can take the
/// data directory's writer lock before opening it.
public final class LedgerWriter: @unchecked Sendable {
    // Safe to share: `ledger` is touched only on the writer thread (and by `init` before it
    // starts); every other stored property is read and written under `condition`.
    private let ledger: Ledger
    private let condition = NSCondition()
    private var queue: [any WriterJob] = []
    private var isStopping = false
    private var isStopped = false
    /// How many jobs may wait at once.
    public let capacity: Int
    /// The network the ledger was opened with: immutable, so readable from any thread.
    public let network: Network

    /// Starts the writer thread for `ledger`, with room for `capacity` waiting jobs.
    public init(ledger: Ledger, capacity: Int = 64) {
        precondition(capacity > 0, "the writer's queue needs room for at least one job")
        self.ledger = ledger
        self.capacity = capacity
        network = ledger.network
        let thread = Thread { [self] in run() }
        thread.name = "coalition-ledger-writer"
        thread.start()
    }

    /// Runs `work` on the writer thread with the ledger and returns what it returned (or
    /// throws what it threw), once it has run. Throws `WRITER_BUSY` at once when the queue
    /// is full and `SHUTTING_DOWN` once `shutdown()` was called.
    public func perform<T: Sendable>(_ work: @escaping @Sendable (Ledger) throws -> T) throws -> T {
        let job = Job(work)
        condition.lock()
        if isStopping {
            condition.unlock()
            throw CoalitionError(.shuttingDown, "the ledger writer is shutting down")
        }
        guard queue.count < capacity else {
            condition.unlock()
            throw CoalitionError(.writerBusy, "the ledger writer's queue is full (\(capacity) jobs)")
        }
        queue.append(job)
        condition.broadcast()
        while job.result == nil { condition.wait() }
        let result = job.result!
        condition.unlock()
        return try result.get()
    }

    /// How many jobs wait (not counting one being run).
    public var waiting: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count
    }

    /// Whether `shutdown()` was called: new jobs are refused.
    public var isShuttingDown: Bool {
        condition.lock()
        defer { condition.unlock() }
        return isStopping
    }

    /// Refuses new jobs, runs those queued, saves the ledger's state and stops; returns when
    /// the writer thread is done. Throws if saving the state failed (the ledger's tables are
    /// the truth: the next open rebuilds it). Calling it again does nothing.
    public func shutdown() throws {
        condition.lock()
        isStopping = true
        condition.broadcast()
        while !isStopped { condition.wait() }
        let saved = savedState
        condition.unlock()
        try saved?.get()
    }

    private var savedState: Result<Void, any Error>?

    /// The writer thread: takes every queued job at once, runs each, hands back its
    /// result; at shutdown, once the queue is empty, saves the state and stops.
    private func run() {
        while true {
            condition.lock()
            while queue.isEmpty && !isStopping { condition.wait() }
            let turn = queue
            queue.removeAll(keepingCapacity: true)
            if turn.isEmpty {
                condition.unlock()
                let saved = Result { try ledger.saveState() }
                condition.lock()
                savedState = saved
                isStopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.unlock()
            for job in turn {
                job.run(ledger)
                condition.lock()
                job.finish()
                condition.broadcast()
                condition.unlock()
            }
        }
    }
}

/// A job of the writer, whatever it returns.
private protocol WriterJob: AnyObject {
    /// Runs on the writer thread, outside the lock.
    func run(_ ledger: Ledger)
    /// Publishes the result; called under the writer's lock.
    func finish()
}

/// One caller's job and, once run, its result.
private final class Job<T: Sendable>: WriterJob {
    private let work: @Sendable (Ledger) throws -> T
    private var outcome: Result<T, any Error>?
    /// What the caller reads, under the writer's lock, once `finish` set it.
    private(set) var result: Result<T, any Error>?

    init(_ work: @escaping @Sendable (Ledger) throws -> T) { self.work = work }

    func run(_ ledger: Ledger) { outcome = Result { try work(ledger) } }

    func finish() { result = outcome }
}
