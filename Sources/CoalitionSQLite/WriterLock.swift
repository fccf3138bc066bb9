import CoalitionKit
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one writer of a data directory: an exclusive `flock(2)` on `writer.lock` in it.
///
/// Every command that writes takes it before it loads the ledger's state, and holds it until
/// the process is done with the ledger (its state saved); `coalition serve` holds it for its
/// whole life. A second writer waits up to a bounded time and is then refused with
/// `LEDGER_BUSY`, before it has read anything, so it can never act on a stale state. Reads
/// do not take it: SQLite's WAL gives them a consistent snapshot.
///
/// The kernel releases the lock when its process ends, however it ends (a `kill -9`
/// included), so a crashed writer never leaves the directory locked. The file keeps the
/// holder's process id, for the message a refused writer prints; it is never deleted.
package final class WriterLock {
    /// The lock file inside the data directory.
    package static let fileName = "writer.lock"

    package let path: String
    private var descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { release() }

    /// Takes the lock of `dataDirectory`, waiting up to `waitSeconds` (0: refuse at once)
    /// while another process holds it.
    ///
    /// Throws `LEDGER_BUSY` when the wait ends with the lock still held, `IO_ERROR` when the
    /// lock file cannot be opened (a data directory that is not there, or not writable).
    package static func acquire(dataDirectory: String, waitSeconds: Int) throws -> WriterLock {
        let path = (dataDirectory as NSString).appendingPathComponent(fileName)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            throw CoalitionError(
                .io,
                "cannot open the writer lock: \(String(cString: strerror(errno)))",
                at: Place(file: path)
            )
        }
        let deadline = Date().addingTimeInterval(TimeInterval(max(0, waitSeconds)))
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let failure = errno
            guard failure == EWOULDBLOCK || failure == EINTR else {
                close(descriptor)
                throw CoalitionError(
                    .io,
                    "cannot take the writer lock: \(String(cString: strerror(failure)))",
                    at: Place(file: path)
                )
            }
            if failure == EWOULDBLOCK && Date() >= deadline {
                let holder = holderDescription(descriptor)
                close(descriptor)
                throw CoalitionError(
                    .ledgerBusy,
                    "another process is writing to this ledger\(holder)"
                        + (waitSeconds > 0 ? " and did not finish within \(waitSeconds) s" : "")
                        + ": try again when it is done, or wait for it with --wait SECONDS",
                    at: Place(file: dataDirectory)
                )
            }
            usleep(50_000)
        }
        let lock = WriterLock(path: path, descriptor: descriptor)
        lock.recordHolder()
        return lock
    }

    /// Whether this object still holds the lock.
    package var isHeld: Bool { descriptor >= 0 }

    /// Releases the lock (also done when the object goes away, or the process ends).
    package func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    /// Writes this process's id into the lock file, for a refused writer's message.
    private func recordHolder() {
        let text = Array("\(getpid())\n".utf8)
        guard ftruncate(descriptor, 0) == 0 else { return }
        _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }

    /// ` (process 1234)`, from the lock file, or nothing when it does not read.
    private static func holderDescription(_ descriptor: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return "" }
        let text = String(decoding: buffer.prefix(count), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let pid = Int32(text), pid > 0 else { return "" }
        return " (process \(pid))"
    }
}
