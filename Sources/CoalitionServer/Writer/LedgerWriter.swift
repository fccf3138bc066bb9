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
/// Single records (`submit`) are group-committed: the records waiting in a turn, in a row,
/// are applied as ONE batch, one transaction and one sync, and each caller is answered from
/// it once it is durable (`SingleRecords`).
///
/// A full queue refuses a job at once (`WRITER_BUSY`, answered 503 with `Retry-After`)
/// rather than holding an I/O thread. `shutdown()` refuses new jobs (`SHUTTING_DOWN`), runs
/// every job already queued, saves the ledger's state and stops the thread.
///
/// The writer takes a ledger already opened, so whoever runs the server can take the
/// data directory's writer lock before opening it.
///
/// **Standby.** A writer made with `init(standbyFor:)` has no ledger: every job is refused
/// with `STANDBY` (503 with `Retry-After`) until `takeOver` opens one on the writer thread;
/// `stepDown` drops it again. A server on PostgreSQL runs so while another holds the
/// ledger's writer lease (docs/operations.md, "Two servers, one ledger").
package final class LedgerWriter: @unchecked Sendable {
    // Safe to share: `ledger` is touched only on the writer thread (and by `init` before it
    // starts); every other stored property is read and written under `condition`.
    private var ledger: Ledger?
    private var holdsLedger: Bool
    private let condition = NSCondition()
    private var queue: [any WriterJob] = []
    private var isStopping = false
    private var isStopped = false
    /// How many jobs may wait at once.
    package let capacity: Int
    /// The network the ledger was opened with: immutable, so readable from any thread.
    package let network: Network

    /// Starts the writer thread for `ledger`, with room for `capacity` waiting jobs.
    package init(ledger: Ledger, capacity: Int = 64) {
        precondition(capacity > 0, "the writer's queue needs room for at least one job")
        self.ledger = ledger
        self.capacity = capacity
        network = ledger.network
        holdsLedger = true
        let thread = Thread { [self] in run() }
        thread.name = "coalition-ledger-writer"
        thread.start()
    }

    /// Starts a writer without a ledger, for a standby server of `network`: it refuses every
    /// job with `STANDBY` until `takeOver` gives it one.
    package init(standbyFor network: Network, capacity: Int = 64) {
        precondition(capacity > 0, "the writer's queue needs room for at least one job")
        ledger = nil
        self.capacity = capacity
        self.network = network
        holdsLedger = false
        let thread = Thread { [self] in run() }
        thread.name = "coalition-ledger-writer"
        thread.start()
    }

    /// Whether the writer holds a ledger (it is not a standby).
    package var isWriter: Bool {
        condition.lock()
        defer { condition.unlock() }
        return holdsLedger
    }

    /// Opens the ledger with `open`, on the writer thread after every job queued before, and
    /// writes to it from then on. Throws what `open` threw (the writer stays a standby), or
    /// `SHUTTING_DOWN`.
    package func takeOver(_ open: @escaping @Sendable () throws -> Ledger) throws {
        let job = RoleJob(open: open)
        try enqueueAndWait(job, bypassingCapacity: true)
        try job.result!.get()
    }

    /// Drops the ledger, without saving its state, after the jobs queued before: every later
    /// job is refused with `STANDBY`. For a server that lost the writer lease.
    package func stepDown() {
        let job = RoleJob(open: nil)
        try? enqueueAndWait(job, bypassingCapacity: true)
    }

    /// The refusal of a job while the writer holds no ledger.
    static let standbyRefusal = CoalitionError(
        .standby,
        "this server is the standby: another server writes the ledger; this one takes over if it stops"
    )

    /// Runs `work` on the writer thread with the ledger and returns what it returned (or
    /// throws what it threw), once it has run. Throws `WRITER_BUSY` at once when the queue
    /// is full and `SHUTTING_DOWN` once `shutdown()` was called.
    package func perform<T: Sendable>(_ work: @escaping @Sendable (Ledger) throws -> T) throws -> T {
        let job = Job(work)
        try enqueueAndWait(job)
        return try job.result!.get()
    }

    /// Applies one partner's single record (`POST /v1/records`) and returns what became of
    /// it, once its transaction is durable. Single records waiting together are applied in
    /// one batch, one transaction, one sync (group commit); each then gets its own answer.
    /// Throws `WRITER_BUSY` or `SHUTTING_DOWN` as `perform` does, and a store failure.
    package func submit(_ record: LedgerRecord, receivedAt: Timestamp) throws -> SingleRecordResult {
        let job = RecordJob(record, receivedAt: receivedAt)
        try enqueueAndWait(job)
        return try job.result!.get()
    }

    /// Queues `job` and waits until the writer has finished it.
    private func enqueueAndWait(_ job: any WriterJob, bypassingCapacity: Bool = false) throws {
        condition.lock()
        defer { condition.unlock() }
        if isStopping { throw CoalitionError(.shuttingDown, "the ledger writer is shutting down") }
        guard queue.count < capacity || bypassingCapacity else {
            throw CoalitionError(.writerBusy, "the ledger writer's queue is full (\(capacity) jobs)")
        }
        queue.append(job)
        condition.broadcast()
        while !job.isFinished { condition.wait() }
    }

    /// How many jobs wait (not counting one being run).
    package var waiting: Int {
        condition.lock()
        defer { condition.unlock() }
        return queue.count
    }

    /// How many turns the writer took and how many jobs each took together, so far.
    package var statistics: WriterStatistics {
        condition.lock()
        defer { condition.unlock() }
        return turnStatistics
    }

    private var turnStatistics = WriterStatistics()

    /// Whether `shutdown()` was called: new jobs are refused.
    package var isShuttingDown: Bool {
        condition.lock()
        defer { condition.unlock() }
        return isStopping
    }

    /// Refuses new jobs, runs those queued, saves the ledger's state and stops; returns when
    /// the writer thread is done. Throws if saving the state failed (the ledger's tables are
    /// the truth: the next open rebuilds it). Calling it again does nothing.
    package func shutdown() throws {
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
            if !turn.isEmpty { turnStatistics.record(turnSize: turn.count) }
            if turn.isEmpty {
                condition.unlock()
                let saved = Result { if let ledger { try ledger.saveState() } }
                condition.lock()
                savedState = saved
                isStopped = true
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.unlock()
            // Single records in a row are applied as one batch; any other job (a file) runs
            // alone, in its place in the queue.
            var group: [RecordJob] = []
            for job in turn {
                if let role = job as? RoleJob {
                    finish(applying: &group)
                    ledger = role.switchRole(from: ledger)
                    condition.lock()
                    holdsLedger = ledger != nil
                    condition.unlock()
                    finish([job])
                    continue
                }
                guard let ledger else {
                    job.refuse(LedgerWriter.standbyRefusal)
                    finish([job])
                    continue
                }
                if let record = job as? RecordJob {
                    group.append(record)
                    continue
                }
                finish(applying: &group)
                job.run(ledger)
                finish([job])
            }
            finish(applying: &group)
        }
    }

    /// Applies the records of `group` in one batch, answers each, and empties it.
    private func finish(applying group: inout [RecordJob]) {
        guard !group.isEmpty else { return }
        if let ledger {
            SingleRecords.apply(group, to: ledger)
        } else {
            for job in group { job.refuse(LedgerWriter.standbyRefusal) }
        }
        finish(group)
        group.removeAll(keepingCapacity: true)
    }

    /// Publishes the results of `jobs` to their callers.
    private func finish(_ jobs: [any WriterJob]) {
        condition.lock()
        for job in jobs { job.finish() }
        condition.broadcast()
        condition.unlock()
    }
}

/// The writer's turns so far: how many, how many jobs in all, and a histogram of how many
/// jobs a turn took together (what `/metrics` shows as the writer's group sizes).
package struct WriterStatistics: Sendable, Equatable {
    /// The upper bounds of the turn-size buckets.
    package static let sizeBuckets = [1, 2, 4, 8, 16, 32, 64]
    package private(set) var turns: Int64 = 0
    package private(set) var jobs: Int64 = 0
    /// Turns per bucket of `sizeBuckets` (not cumulative); larger turns count only in
    /// `turns`.
    package private(set) var turnsBySize = [Int64](repeating: 0, count: WriterStatistics.sizeBuckets.count)

    mutating func record(turnSize: Int) {
        turns += 1
        jobs += Int64(turnSize)
        if let bucket = Self.sizeBuckets.firstIndex(where: { turnSize <= $0 }) { turnsBySize[bucket] += 1 }
    }
}

/// A job of the writer, whatever it returns.
protocol WriterJob: AnyObject {
    /// Runs on the writer thread, outside the lock.
    func run(_ ledger: Ledger)
    /// Records `error` as the result, without running: the writer has no ledger.
    func refuse(_ error: any Error)
    /// Publishes the result; called under the writer's lock.
    func finish()
    /// Whether `finish` was called; read under the writer's lock.
    var isFinished: Bool { get }
}

/// One caller's job and, once run, its result.
private final class Job<T: Sendable>: WriterJob {
    private let work: @Sendable (Ledger) throws -> T
    private var outcome: Result<T, any Error>?
    /// What the caller reads, under the writer's lock, once `finish` set it.
    private(set) var result: Result<T, any Error>?

    init(_ work: @escaping @Sendable (Ledger) throws -> T) { self.work = work }

    func run(_ ledger: Ledger) { outcome = Result { try work(ledger) } }

    func refuse(_ error: any Error) { outcome = .failure(error) }

    func finish() { result = outcome }

    var isFinished: Bool { result != nil }
}

/// A change of the writer's role: opening the ledger (`takeOver`) or dropping it (`stepDown`).
private final class RoleJob: WriterJob {
    private let open: (@Sendable () throws -> Ledger)?
    private var outcome: Result<Void, any Error>?
    private(set) var result: Result<Void, any Error>?

    init(open: (@Sendable () throws -> Ledger)?) { self.open = open }

    /// The ledger the writer holds after this job: the one `open` opened (or `current`, if
    /// that failed), or none for a step-down.
    func switchRole(from current: Ledger?) -> Ledger? {
        guard let open else {
            outcome = .success(())
            return nil
        }
        do {
            let ledger = try open()
            outcome = .success(())
            return ledger
        } catch {
            outcome = .failure(error)
            return current
        }
    }

    func run(_ ledger: Ledger) {}

    func refuse(_ error: any Error) { outcome = .failure(error) }

    func finish() { result = outcome }

    var isFinished: Bool { result != nil }
}
