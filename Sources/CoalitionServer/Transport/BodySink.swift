import CoalitionKit
import Glibc

/// Where a request's body goes while it is read, per the responder's `HTTPBodyPolicy`:
/// memory, or a temporary file that is never held whole in memory. Beyond the policy's
/// maximum, `BODY_TOO_LARGE`.
final class BodySink {
    private let maximum: Int64
    private var received: Int64 = 0
    private var bytes: [UInt8] = []
    /// The spool file, while it is open.
    private var spool: (fd: Int32, path: String)?

    init(policy: HTTPBodyPolicy) throws(CoalitionError) {
        switch policy {
        case .inMemory(let maximum):
            self.maximum = Int64(maximum)
        case .spooled(let directory, let maximum):
            self.maximum = maximum
            var template = Array((directory + "/upload-XXXXXX").utf8CString)
            // mkstemp makes the file readable by its owner only (0600).
            let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0 else { throw systemError("mkstemp in \(directory)") }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            spool = (fd, template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
    }

    deinit { discard() }

    /// Refuses up front a body that says it is larger than the maximum.
    func check(announcedLength: Int64) throws(CoalitionError) {
        guard announcedLength <= maximum else { throw tooLarge() }
    }

    func append(_ chunk: ArraySlice<UInt8>) throws(CoalitionError) {
        received += Int64(chunk.count)
        guard received <= maximum else { throw tooLarge() }
        guard let spool else {
            bytes.append(contentsOf: chunk)
            return
        }
        var written = 0
        while written < chunk.count {
            let count = chunk[(chunk.startIndex + written)...].withUnsafeBytes {
                Glibc.write(spool.fd, $0.baseAddress, $0.count)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw systemError("writing the upload to its temporary file")
            }
            written += count
        }
    }

    /// The whole body, handed over: the spool file is closed and is now the caller's to
    /// remove (`removeSpool`).
    func finish() throws(CoalitionError) -> HTTPRequestBody {
        guard let spool else { return .bytes(bytes) }
        guard Glibc.close(spool.fd) == 0 else {
            let code = errno
            unlink(spool.path)
            self.spool = nil
            throw systemError("closing the upload's temporary file", code)
        }
        self.spool = nil
        return .file(path: spool.path, length: received)
    }

    /// Drops what was received: the spool file is closed and removed.
    func discard() {
        bytes = []
        guard let spool else { return }
        closeDescriptor(spool.fd)
        unlink(spool.path)
        self.spool = nil
    }

    private func tooLarge() -> CoalitionError {
        CoalitionError(.bodyTooLarge, "the body is over the \(maximum) bytes this request takes")
    }
}
