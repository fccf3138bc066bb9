import CoalitionKit
import CoalitionPostgreSQL
import CoalitionServer
import Foundation

/// Keeps a `coalition serve` on PostgreSQL the writer, or its standby: one thread that takes
/// the ledger's writer lease when it is free (`WriterLease`), opens the ledger in the
/// server's writer under that lease's epoch, renews the lease every second, and steps the
/// writer down when another server has taken it (or the database was out of reach for
/// longer than the lease).
///
/// Safety does not rest on this thread being on time: every batch commits only under the
/// epoch it was opened with (`PostgreSQLStore.fence(epoch:)`). The thread decides only when
/// this server tries to write.
final class LeaseKeeper: @unchecked Sendable {
    // Safe to share: `lease` and the loop's state are used only on the keeper's thread;
    // `isStopping` and `isStopped` are read and written under `condition`.
    private let lease: WriterLease
    private let writer: LedgerWriter
    private let open: @Sendable (Int64) throws -> Ledger
    private let log: @Sendable (String) -> Void
    private let condition = NSCondition()
    private var isStopping = false
    private var isStopped = false
    /// How often a standby asks for the lease.
    static let pollInterval = 0.5
    /// How often the writer renews it: a third of its duration, so two renewals may be late.
    static let renewalInterval = 1.0

    /// `open` opens the ledger for the writer holding `epoch`; `log` prints a line.
    init(
        lease: WriterLease,
        writer: LedgerWriter,
        open: @escaping @Sendable (Int64) throws -> Ledger,
        log: @escaping @Sendable (String) -> Void
    ) {
        self.lease = lease
        self.writer = writer
        self.open = open
        self.log = log
    }

    /// Starts the thread.
    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "coalition-writer-lease"
        thread.start()
    }

    /// Stops the thread; then gives the lease up if this server holds it, so a standby takes
    /// over at once. Call after the writer has committed what was queued.
    func stop() {
        condition.lock()
        isStopping = true
        condition.broadcast()
        while !isStopped { condition.wait() }
        condition.unlock()
        do {
            try lease.release()
        } catch {
            log("the writer lease could not be released (it runs out in \(WriterLease.duration) s): \(describe(error))")
        }
    }

    /// Waits `seconds`, or less if `stop` is called; whether the thread should go on.
    private func pause(_ seconds: Double) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let until = Date(timeIntervalSinceNow: seconds)
        while !isStopping && condition.wait(until: until) {}
        return !isStopping
    }

    private func run() {
        var lastRenewal = Date()
        var standbyLogged = false
        repeat {
            if lease.epoch == nil {
                if takeOver(logStandby: !standbyLogged) { lastRenewal = Date() }
                standbyLogged = true
                continue
            }
            do {
                if try lease.renew() {
                    lastRenewal = Date()
                } else {
                    stepDown("another server took the writer lease over")
                    standbyLogged = false
                }
            } catch {
                if Date().timeIntervalSince(lastRenewal) > Double(WriterLease.duration) {
                    lease.abandon()
                    stepDown("the writer lease could not be renewed for \(WriterLease.duration) s (\(describe(error)))")
                    standbyLogged = false
                }
            }
        } while pause(lease.epoch == nil ? LeaseKeeper.pollInterval : LeaseKeeper.renewalInterval)
        condition.lock()
        isStopped = true
        condition.broadcast()
        condition.unlock()
    }

    /// Takes the lease if it is free and opens the ledger under it; whether it did.
    func takeOver(logStandby: Bool) -> Bool {
        do {
            guard let epoch = try lease.acquire() else {
                if logStandby, let current = try? lease.currentHolder() {
                    log(
                        "standby: \(current.holder) is the writer (epoch \(current.epoch)); refusing writes with STANDBY"
                    )
                }
                return false
            }
            try openLedger(epoch)
            log("the writer (lease epoch \(epoch), held by \(lease.holder))")
            return true
        } catch {
            log("could not take the ledger over: \(describe(error))")
            try? lease.release()
            return false
        }
    }

    /// Opens the ledger in the writer under `epoch`, renewing the lease every second while
    /// it loads (reading a large ledger's tables takes longer than the lease lasts).
    private func openLedger(_ epoch: Int64) throws {
        let open = self.open
        let writer = self.writer
        let outcome = Outcome()
        Thread {
            let result = Result { try writer.takeOver { try open(epoch) } }
            outcome.set(result)
        }.start()
        while !outcome.wait(seconds: LeaseKeeper.renewalInterval) { _ = try? lease.renew() }
        try outcome.result?.get()
    }

    /// The result of opening the ledger, handed from its thread to the keeper's.
    private final class Outcome: @unchecked Sendable {
        // Safe to share: `stored` is read and written under `condition`.
        private let condition = NSCondition()
        private var stored: Result<Void, any Error>?

        func set(_ result: Result<Void, any Error>) {
            condition.lock()
            stored = result
            condition.broadcast()
            condition.unlock()
        }

        /// Waits up to `seconds` for the result; whether it is there.
        func wait(seconds: Double) -> Bool {
            condition.lock()
            defer { condition.unlock() }
            let until = Date(timeIntervalSinceNow: seconds)
            while stored == nil && condition.wait(until: until) {}
            return stored != nil
        }

        var result: Result<Void, any Error>? {
            condition.lock()
            defer { condition.unlock() }
            return stored
        }
    }

    private func stepDown(_ why: String) {
        writer.stepDown()
        log("stepped down to standby: \(why)")
    }

    private func describe(_ error: any Error) -> String {
        guard let error = error as? CoalitionError else { return "an unexpected failure" }
        return "\(error.code.rawValue) \(error.message)"
    }
}
