import CoalitionKit
import Glibc

/// A failed system call as a `CoalitionError` (`IO_ERROR`) that keeps its `errno`.
func systemError(_ call: String, _ code: Int32 = errno) -> CoalitionError {
    CoalitionError(.io, "\(call) failed: \(String(cString: strerror(code))) (errno \(code))")
}

/// The text of a NUL-terminated C string held in an array.
func cString(_ bytes: [CChar]) -> String {
    bytes.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

/// A moment on the monotonic clock by which something must have happened.
struct Deadline: Sendable, Comparable {
    let instant: ContinuousClock.Instant

    static func after(_ duration: Duration) -> Deadline { Deadline(instant: .now + duration) }
    static let never = Deadline(instant: .now + .seconds(100 * 365 * 86400))

    var hasPassed: Bool { instant <= .now }

    /// Milliseconds left, for `poll` (0 once passed).
    var pollMilliseconds: Int32 {
        let left = instant - .now
        guard left > .zero else { return 0 }
        let (seconds, attoseconds) = left.components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }

    static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.instant < rhs.instant }
}

/// What waiting on a socket ended with.
enum Readiness {
    case ready
    case timedOut
    /// The server's wake pipe became readable: it is shutting down.
    case woken
}

/// Waits until `fd` can be read (or written), the deadline passes, or `wake` is readable.
func waitFor(
    _ fd: Int32,
    writing: Bool = false,
    until deadline: Deadline,
    wake: Int32? = nil
) throws(CoalitionError)
    -> Readiness
{
    var fds = [pollfd(fd: fd, events: Int16(writing ? POLLOUT : POLLIN), revents: 0)]
    if let wake { fds.append(pollfd(fd: wake, events: Int16(POLLIN), revents: 0)) }
    while true {
        let timeout = deadline.pollMilliseconds
        let count = poll(&fds, nfds_t(fds.count), timeout)
        if count < 0 {
            if errno == EINTR { continue }
            throw systemError("poll")
        }
        if fds.count > 1, fds[1].revents != 0 { return .woken }
        if fds[0].revents != 0 { return .ready }
        if deadline.hasPassed { return .timedOut }
    }
}

/// Closes `fd`, ignoring the result: on Linux the descriptor is released even when `close`
/// reports an error, and there is nothing left to do about it.
func closeDescriptor(_ fd: Int32) {
    _ = Glibc.close(fd)
}

/// Writes `bytes` to a new file at `path` readable by its owner only (0600), refusing to
/// replace an existing file or follow a link.
func writeOwnerOnlyFile(_ path: String, _ bytes: [UInt8]) throws(CoalitionError) {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw systemError("open \(path)") }
    defer { closeDescriptor(fd) }
    var written = 0
    while written < bytes.count {
        let count = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            throw systemError("write \(path)")
        }
        written += count
    }
    guard fsync(fd) == 0 else { throw systemError("fsync \(path)") }
}
