import CoalitionKit
import Glibc

/// A small HTTP/1.1 client on the server's own sockets and libssl: one keep-alive
/// connection to one server, requests one at a time, every wait bounded.
///
/// It is what the demo, the tests and the benchmark use to speak to `coalition serve` as a
/// partner's system would, and it verifies the server's certificate against the trusted
/// certificates it is given (and the host name). It reads answers framed by
/// `Content-Length`, as `coalition serve` always sends them; a chunked answer is refused.
package final class HTTPSClient {
    package struct Response: Sendable {
        package let status: Int
        package let headers: HTTPHeaders
        package let body: [UInt8]

        package var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// The largest answer read, in bytes.
    package static let maximumResponseBytes = 256 << 20

    let host: String
    let port: Int
    let tls: TLSContext?
    let timeout: Duration
    private var stream: (any ByteStream)?
    private var buffer: [UInt8] = []

    /// A client of `host:port` (an IPv4 or IPv6 literal, or `localhost`), over TLS trusting
    /// the PEM certificates in `trusting`, or plain HTTP when that is nil (loopback only).
    package init(host: String, port: Int, trusting caPath: String?, timeout: Duration = .seconds(30)) throws {
        // A write to a server that went away must fail with EPIPE, not end the process (libssl
        // writes with write(2), which raises SIGPIPE): as the server does for its own side.
        signal(SIGPIPE, SIG_IGN)
        self.host = host
        self.port = port
        self.tls = try caPath.map { path throws(CoalitionError) in try TLSContext(trusting: path) }
        self.timeout = timeout
    }

    deinit { stream?.close(linger: .after(.zero)) }

    /// Sends one request and reads its answer. `fields` are sent as given, after `Host` and
    /// `Content-Length`; the body is `body`'s bytes, or the file at its path, streamed.
    package func send(
        method: String,
        target: String,
        fields: [(name: String, value: String)] = [],
        body: HTTPRequestBody = .bytes([])
    ) throws -> Response {
        let deadline = Deadline.after(timeout)
        let stream = try connected(deadline)
        do throws(StreamFault) {
            var head = "\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\n"
            switch body {
            case .bytes(let bytes): head += "Content-Length: \(bytes.count)\r\n"
            case .file(_, let length): head += "Content-Length: \(length)\r\n"
            }
            for (name, value) in fields { head += "\(name): \(value)\r\n" }
            try stream.write(Array((head + "\r\n").utf8), until: deadline)
            switch body {
            case .bytes(let bytes): try stream.write(bytes, until: deadline)
            case .file(let path, _): try Self.stream(file: path, to: stream, until: deadline)
            }
            return try readResponse(stream, method: method, until: deadline)
        } catch {
            close()
            throw Self.error(error, "talking to \(host):\(port)")
        }
    }

    /// Ends the connection; the next request opens another.
    package func close() {
        stream?.close(linger: .after(.zero))
        stream = nil
        buffer.removeAll()
    }

    private func connected(_ deadline: Deadline) throws -> any ByteStream {
        if let stream { return stream }
        let fd = try Self.connect(host: host, port: port)
        let made: any ByteStream
        if let tls {
            do {
                made = try tls.makeStream(descriptor: fd, hostName: host)
            } catch {
                closeDescriptor(fd)
                throw error
            }
        } else {
            made = PlainStream(descriptor: fd)
        }
        do throws(StreamFault) {
            try made.handshake(until: deadline)
        } catch {
            made.close(linger: .after(.zero))
            throw Self.error(error, "the TLS handshake with \(host):\(port)")
        }
        stream = made
        return made
    }

    private func readResponse(
        _ stream: any ByteStream,
        method: String,
        until deadline: Deadline
    ) throws(StreamFault)
        -> Response
    {
        while true {
            if let end = Self.endOfHead(buffer) {
                let (status, headers) = try Self.parseHead(buffer[..<end])
                // A HEAD's answer, a 204 and a 304 have no body, whatever their head says.
                let hasNoBody = method == "HEAD" || status == 204 || status == 304
                let length = hasNoBody ? 0 : Int(headers["Content-Length"] ?? "")
                guard let length, length >= 0, length <= Self.maximumResponseBytes else {
                    throw .failed(CoalitionError(.io, "the answer has no usable Content-Length"))
                }
                while buffer.count < end + length {
                    guard try stream.read(into: &buffer, maximum: 1 << 16, until: deadline, wake: nil) > 0 else {
                        throw .closed
                    }
                }
                let body = Array(buffer[end..<(end + length)])
                buffer.removeFirst(end + length)
                if headers["Connection"]?.lowercased() == "close" { close() }
                return Response(status: status, headers: headers, body: body)
            }
            guard buffer.count < 64 << 10 else { throw .failed(CoalitionError(.io, "the answer's head is too long")) }
            guard try stream.read(into: &buffer, maximum: 1 << 16, until: deadline, wake: nil) > 0 else {
                throw .closed
            }
        }
    }

    /// The index just past the blank line that ends the head, if it has arrived.
    static func endOfHead(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 3..<bytes.count where bytes[i] == 10 && bytes[i - 1] == 13 && bytes[i - 2] == 10 && bytes[i - 3] == 13
        {
            return i + 1
        }
        return nil
    }

    static func parseHead(_ bytes: ArraySlice<UInt8>) throws(StreamFault) -> (Int, HTTPHeaders) {
        let text = String(decoding: bytes, as: UTF8.self)
        var lines = text.split(separator: "\r\n", omittingEmptySubsequences: true)
        guard !lines.isEmpty else { throw .failed(CoalitionError(.io, "an empty answer")) }
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            throw .failed(CoalitionError(.io, "the answer's status line is malformed"))
        }
        var headers = HTTPHeaders()
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else {
                throw .failed(CoalitionError(.io, "a malformed header line in the answer"))
            }
            let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            headers.add(String(line[..<colon]), String(value))
        }
        if headers["Transfer-Encoding"] != nil {
            throw .failed(CoalitionError(.io, "a chunked answer: this client reads Content-Length answers only"))
        }
        return (status, headers)
    }

    private static func stream(
        file path: String,
        to stream: any ByteStream,
        until deadline: Deadline
    )
        throws(StreamFault)
    {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .failed(systemError("open \(path)")) }
        defer { closeDescriptor(fd) }
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw .failed(systemError("read \(path)")) }
            guard count > 0 else { return }
            var failure: StreamFault?
            chunk.withUnsafeBytes { raw in
                do throws(StreamFault) {
                    try stream.write(UnsafeRawBufferPointer(rebasing: raw[..<count]), until: deadline)
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
        }
    }

    /// A connected TCP socket to `host:port`, non-blocking.
    static func connect(host: String, port: Int) throws -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw CoalitionError(.io, "cannot resolve \(host): \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = CoalitionError(.io, "cannot connect to \(host):\(port)")
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let address = entry {
            entry = address.pointee.ai_next
            let fd = socket(address.pointee.ai_family, address.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else {
                lastError = systemError("socket")
                continue
            }
            if Glibc.connect(fd, address.pointee.ai_addr, address.pointee.ai_addrlen) == 0 {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                var one: Int32 = 1
                _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return fd
            }
            lastError = systemError("connect to \(host):\(port)")
            closeDescriptor(fd)
        }
        throw lastError
    }

    static func error(_ fault: StreamFault, _ what: String) -> CoalitionError {
        switch fault {
        case .timedOut, .woken: CoalitionError(.io, "\(what): timed out")
        case .closed: CoalitionError(.io, "\(what): the connection was closed")
        case .failed(let error): error
        }
    }
}
