import CoalitionKit
import Glibc

/// Why a stream stopped before the exchange was done.
enum StreamFault: Error {
    /// The deadline passed first.
    case timedOut
    /// The server is shutting down and the stream was idle.
    case woken
    /// The peer closed the connection, or reset it.
    case closed
    /// A system or TLS call failed (errno or OpenSSL's reason in the message).
    case failed(CoalitionError)
}

/// A connection's bytes, plain or TLS, over a non-blocking socket; every wait is bounded by
/// a deadline.
protocol ByteStream: AnyObject {
    /// The socket, for the server's forced close at the end of a shutdown.
    var descriptor: Int32 { get }
    /// Completes the TLS handshake (nothing for plain TCP).
    func handshake(until deadline: Deadline) throws(StreamFault)
    /// Reads at most `maximum` bytes, appending them to `buffer`; returns the count, 0 at the
    /// end of the stream. With `wake`, a shutdown interrupts the wait (`StreamFault.woken`).
    func read(
        into buffer: inout [UInt8],
        maximum: Int,
        until deadline: Deadline,
        wake: Int32?
    ) throws(StreamFault)
        -> Int
    /// Writes all of `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer, until deadline: Deadline) throws(StreamFault)
    /// Ends the stream: the TLS close alert, then the socket's write side; unread bytes the
    /// peer is still sending are drained until `linger` so that the last answer is not lost
    /// to a reset; then the socket is closed.
    func close(linger: Deadline)
}

extension ByteStream {
    func write(_ bytes: [UInt8], until deadline: Deadline) throws(StreamFault) {
        var failure: StreamFault?
        bytes.withUnsafeBytes { raw in
            do throws(StreamFault) {
                try write(raw, until: deadline)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }
}

/// Waits for the socket as `waitFor` does, the outcomes other than readiness as faults.
func awaitSocket(_ fd: Int32, writing: Bool, until deadline: Deadline, wake: Int32?) throws(StreamFault) {
    let readiness: Readiness
    do {
        readiness = try waitFor(fd, writing: writing, until: deadline, wake: wake)
    } catch {
        throw .failed(error)
    }
    switch readiness {
    case .ready: return
    case .timedOut: throw .timedOut
    case .woken: throw .woken
    }
}

/// Drains what the peer still sends after our write side is shut, then closes the socket.
func lingerAndClose(_ fd: Int32, until deadline: Deadline) {
    _ = shutdown(fd, Int32(SHUT_WR))
    var scratch = [UInt8](repeating: 0, count: 16384)
    var drained = 0
    while drained < 1 << 20 {
        guard case .ready? = try? waitFor(fd, until: deadline) else { break }
        let count = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count < 0, errno == EINTR || errno == EAGAIN { continue }
        guard count > 0 else { break }
        drained += count
    }
    closeDescriptor(fd)
}

/// Memory a stream reads into before the bytes join the caller's buffer: allocated once per
/// connection and never zero-filled, so a read costs the copy of what arrived, not a clear
/// of the largest read that could have.
final class ReadScratch {
    private var memory: UnsafeMutableRawBufferPointer = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    deinit { memory.deallocate() }

    /// Reads with `read` into at least `maximum` bytes of scratch memory and appends the
    /// bytes it reports (the count, or a negative number for none) to `buffer`.
    func read<Result>(
        appendingTo buffer: inout [UInt8],
        maximum: Int,
        _ read: (UnsafeMutableRawPointer, Int) -> (result: Result, count: Int)
    ) -> Result {
        if memory.count < maximum {
            memory.deallocate()
            memory = .allocate(byteCount: maximum, alignment: 16)
        }
        let (result, count) = read(memory.baseAddress!, maximum)
        if count > 0 { buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: memory[0..<count])) }
        return result
    }
}

/// Plain TCP: only for a loopback listener (behind a TLS-terminating proxy, or in tests).
final class PlainStream: ByteStream {
    let descriptor: Int32
    private let scratch = ReadScratch()

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    func handshake(until deadline: Deadline) throws(StreamFault) {}

    func read(
        into buffer: inout [UInt8],
        maximum: Int,
        until deadline: Deadline,
        wake: Int32?
    ) throws(StreamFault)
        -> Int
    {
        while true {
            let (count, code) = scratch.read(appendingTo: &buffer, maximum: maximum) { memory, maximum in
                let count = recv(descriptor, memory, maximum, 0)
                return ((count, errno), count)
            }
            if count >= 0 { return count }
            switch code {
            case EINTR: continue
            case EAGAIN: try awaitSocket(descriptor, writing: false, until: deadline, wake: wake)
            case ECONNRESET, EPIPE: throw .closed
            default: throw .failed(systemError("recv", code))
            }
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, until deadline: Deadline) throws(StreamFault) {
        var sent = 0
        while sent < bytes.count {
            let count = send(descriptor, bytes.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
            if count >= 0 {
                sent += count
                continue
            }
            switch errno {
            case EINTR: continue
            case EAGAIN: try awaitSocket(descriptor, writing: true, until: deadline, wake: nil)
            case ECONNRESET, EPIPE: throw .closed
            case let code: throw .failed(systemError("send", code))
            }
        }
    }

    func close(linger: Deadline) {
        lingerAndClose(descriptor, until: linger)
    }
}
