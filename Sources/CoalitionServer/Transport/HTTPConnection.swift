import CoalitionKit
import Glibc

/// What a connection needs of its server.
struct ConnectionEnvironment: Sendable {
    let configuration: HTTPServerConfiguration
    let responder: any HTTPResponder
    /// Readable once the server shuts down: an idle connection's wait ends on it.
    let wakeDescriptor: Int32
    let isShuttingDown: @Sendable () -> Bool
}

/// How an exchange ended early.
enum ExchangeEnd: Error {
    /// Close without a word: the peer left, was idle, or the server is shutting down.
    case silently
    /// Answer this fault, then close.
    case answer(CoalitionError)
}

/// One client connection, served on its own thread: requests one after another, each read
/// whole and bounded, answered, and the connection kept or closed as HTTP/1.1 says.
final class HTTPConnection {
    private let stream: any ByteStream
    private let remoteAddress: String
    private let environment: ConnectionEnvironment
    private var configuration: HTTPServerConfiguration { environment.configuration }
    /// The first request's head must be complete by then (the handshake included).
    private let firstDeadline: Deadline
    private var isFirstRequest = true
    /// Bytes received and not yet taken: the start of the next request, or of a body.
    private var buffer: [UInt8] = []
    static let readSize = 65536

    init(stream: any ByteStream, remoteAddress: String, environment: ConnectionEnvironment) {
        self.stream = stream
        self.remoteAddress = remoteAddress
        self.environment = environment
        self.firstDeadline = .after(environment.configuration.headerTimeout)
    }

    /// Serves requests until the connection ends; then calls `release` and closes it.
    func serve(release: () -> Void) {
        var linger = Deadline.after(.zero)
        defer {
            release()
            stream.close(linger: linger)
        }
        do throws(StreamFault) {
            try stream.handshake(until: firstDeadline)
        } catch {
            if case .failed(let fault) = error { log("TLS handshake failed: \(fault.message)") }
            return
        }
        while true {
            do throws(ExchangeEnd) {
                let head = try readHead()
                isFirstRequest = false
                guard try exchange(head) else {
                    linger = .after(.seconds(1))
                    return
                }
            } catch {
                if case .answer(let fault) = error {
                    sendFinal(.error(answerable(fault)))
                    linger = .after(.seconds(1))
                }
                return
            }
            if environment.isShuttingDown() { return }
        }
    }

    /// The fault as the client is told it: a server-side failure is logged whole (it may
    /// name a path and errno) and answered without its detail.
    private func answerable(_ fault: CoalitionError) -> CoalitionError {
        log("\(fault.code.httpStatus) \(fault.code): \(fault.message)")
        guard fault.code.httpStatus == 500 else { return fault }
        return CoalitionError(.internalError, "the server could not take the request; try again later")
    }

    private func log(_ text: String) {
        configuration.log("http \(remoteAddress): \(text)")
    }

    /// Answers a connection the server has no room for (or is closing for) and closes it,
    /// bounded by `deadline`.
    static func refuse(_ stream: any ByteStream, with error: CoalitionError, until deadline: Deadline) {
        defer { stream.close(linger: deadline) }
        guard (try? stream.handshake(until: deadline)) != nil else { return }
        let bytes = serialize(.error(error), keepAlive: false)
        try? stream.write(bytes.head + bytes.body, until: deadline)
    }

    // MARK: The head

    private func readHead() throws(ExchangeEnd) -> HTTPParsedHead {
        var parser = HTTPHeadParser(limits: configuration.limits)
        var headDeadline: Deadline? = isFirstRequest ? firstDeadline : nil
        let idleDeadline = Deadline.after(configuration.idleTimeout)
        while true {
            if !buffer.isEmpty {
                if headDeadline == nil { headDeadline = .after(configuration.headerTimeout) }
                let progress: HTTPHeadParser.Progress
                do throws(CoalitionError) {
                    progress = try parser.parse(buffer)
                } catch {
                    throw .answer(error)
                }
                if case .complete(let head, let consumed) = progress {
                    buffer.removeFirst(consumed)
                    return head
                }
                buffer.removeAll(keepingCapacity: true)
            }
            let hasStarted = parser.hasStarted
            let count: Int
            do throws(StreamFault) {
                count = try stream.read(
                    into: &buffer,
                    maximum: Self.readSize,
                    until: headDeadline ?? idleDeadline,
                    wake: hasStarted ? nil : environment.wakeDescriptor
                )
            } catch .timedOut where hasStarted {
                throw .answer(CoalitionError(.requestTimeout, "the request's head did not arrive in time"))
            } catch {
                throw .silently
            }
            if count == 0 { throw .silently }
        }
    }

    // MARK: One exchange

    /// Reads the body, asks the responder, answers; whether the connection stays open.
    private func exchange(_ parsed: HTTPParsedHead) throws(ExchangeEnd) -> Bool {
        let frame = try answering { () throws(CoalitionError) in try HTTPRequestFrame(head: parsed) }
        let head = HTTPRequestHead(
            method: parsed.method,
            target: parsed.target,
            headers: parsed.headers,
            remoteAddress: remoteAddress
        )
        let sink = try answering { () throws(CoalitionError) in
            try BodySink(policy: environment.responder.bodyPolicy(for: head))
        }
        defer { sink.discard() }
        if case .length(let length) = frame.framing {
            try answering { () throws(CoalitionError) in try sink.check(announcedLength: length) }
        }
        if frame.expectsContinue, frame.framing != .none {
            do {
                try stream.write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8), until: .after(configuration.writeTimeout))
            } catch {
                throw .silently
            }
        }
        try readBody(frame.framing, into: sink)
        let body = try answering { () throws(CoalitionError) in try sink.finish() }
        let response = environment.responder.respond(to: HTTPRequest(head: head, body: body))
        // The spooled upload is gone before the answer leaves: a client that has its answer
        // never finds the temporary file still there.
        if case .file(let path, _) = body { unlink(path) }
        let keepAlive = frame.keepAlive && !environment.isShuttingDown()
        guard send(response, keepAlive: keepAlive, headOnly: parsed.method == "HEAD") else { throw .silently }
        return keepAlive
    }

    private func answering<T>(_ body: () throws(CoalitionError) -> T) throws(ExchangeEnd) -> T {
        do throws(CoalitionError) {
            return try body()
        } catch {
            throw .answer(error)
        }
    }

    // MARK: The body

    private func readBody(_ framing: HTTPBodyFraming, into sink: BodySink) throws(ExchangeEnd) {
        var rate = BodyRate(minimum: configuration.minimumBodyRate, grace: configuration.bodyRateGrace)
        switch framing {
        case .none:
            return
        case .length(let length):
            var remaining = length
            while remaining > 0 {
                if buffer.isEmpty { try fill(by: rate.deadline) }
                let take = Int(min(remaining, Int64(buffer.count)))
                try answering { () throws(CoalitionError) in try sink.append(buffer[0..<take]) }
                buffer.removeFirst(take)
                remaining -= Int64(take)
                rate.received += Int64(take)
            }
        case .chunked:
            var decoder = HTTPChunkedDecoder(limits: configuration.limits)
            while !decoder.isComplete {
                if buffer.isEmpty { try fill(by: rate.deadline) }
                let taken: Int
                do {
                    taken = try decoder.decode(buffer[...]) { try sink.append($0) }
                } catch let error as CoalitionError {
                    throw .answer(error)
                } catch {
                    throw .answer(CoalitionError(.internalError, "reading a chunked body failed"))
                }
                buffer.removeFirst(taken)
                rate.received += Int64(taken)
            }
        }
    }

    /// Reads more body bytes into the buffer: the peer's leaving ends the exchange
    /// silently (what was received is discarded), a too slow body is answered 408.
    private func fill(by deadline: Deadline) throws(ExchangeEnd) {
        let count: Int
        do throws(StreamFault) {
            count = try stream.read(into: &buffer, maximum: Self.readSize, until: deadline, wake: nil)
        } catch .timedOut {
            throw .answer(
                CoalitionError(
                    .bodyTooSlow,
                    "the body arrived slower than \(configuration.minimumBodyRate) bytes a second"
                )
            )
        } catch {
            throw .silently
        }
        if count == 0 { throw .silently }
    }

    // MARK: The answer

    /// Writes an answer; false when the peer is gone or too slow to take it.
    private func send(_ response: HTTPResponse, keepAlive: Bool, headOnly: Bool) -> Bool {
        let deadline = { Deadline.after(self.configuration.writeTimeout) }
        guard case .file(let path) = response.body else {
            let bytes = Self.serialize(response, keepAlive: keepAlive)
            return (try? stream.write(headOnly ? bytes.head : bytes.head + bytes.body, until: deadline())) != nil
        }
        guard let file = ResponseFile(path: path) else {
            let failure = CoalitionError(.internalError, "the answer could not be read")
            return send(.error(failure), keepAlive: keepAlive, headOnly: headOnly)
        }
        let head = HTTPResponseHead.serialize(
            status: response.status,
            headers: response.headers,
            contentLength: file.length,
            keepAlive: keepAlive
        )
        if headOnly { return (try? stream.write(head, until: deadline())) != nil }
        if file.length <= Int64(Self.readSize) {
            // A small file (an acknowledgement, a statement) goes out with its head in one
            // write: one TLS record and one send for most answers.
            guard let body = file.read(exactly: Int(file.length)) else { return false }
            return (try? stream.write(head + body, until: deadline())) != nil
        }
        guard (try? stream.write(head, until: deadline())) != nil else { return false }
        var chunk: [UInt8] = []
        var sent: Int64 = 0
        while sent < file.length {
            guard file.read(into: &chunk, maximum: Self.readSize), !chunk.isEmpty,
                (try? stream.write(chunk, until: deadline())) != nil
            else { return false }
            sent += Int64(chunk.count)
        }
        return true
    }

    /// The last answer on a connection, best effort.
    private func sendFinal(_ response: HTTPResponse) {
        _ = send(response, keepAlive: false, headOnly: false)
    }

    /// Head and body bytes of an in-memory answer.
    static func serialize(_ response: HTTPResponse, keepAlive: Bool) -> (head: [UInt8], body: [UInt8]) {
        let bodyless = response.status < 200 || response.status == 204 || response.status == 304
        let body: [UInt8]
        if case .bytes(let bytes) = response.body, !bodyless { body = bytes } else { body = [] }
        let head = HTTPResponseHead.serialize(
            status: response.status,
            headers: response.headers,
            contentLength: bodyless ? nil : Int64(body.count),
            keepAlive: keepAlive
        )
        return (head, body)
    }
}

/// The average rate a body must keep: `received` bytes are due by the start, plus the
/// grace, plus `received / minimum` seconds; the next byte is late after that.
struct BodyRate {
    let start = ContinuousClock.now
    let minimum: Int
    let grace: Duration
    var received: Int64 = 0

    var deadline: Deadline {
        let rate = Int64(max(1, minimum))
        let earned = Duration.seconds(received / rate) + .nanoseconds((received % rate) * 1_000_000_000 / rate)
        return Deadline(instant: start + grace + earned)
    }
}

/// A file sent as an answer's body, read in pieces.
final class ResponseFile {
    private let fd: Int32
    let length: Int64

    init?(path: String) {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            closeDescriptor(fd)
            return nil
        }
        length = Int64(status.st_size)
    }

    deinit { closeDescriptor(fd) }

    func read(into chunk: inout [UInt8], maximum: Int) -> Bool {
        var failed = false
        chunk = [UInt8](unsafeUninitializedCapacity: maximum) { memory, initialized in
            while true {
                let count = Glibc.read(fd, memory.baseAddress, maximum)
                if count < 0, errno == EINTR { continue }
                failed = count < 0
                initialized = max(count, 0)
                return
            }
        }
        return !failed
    }

    /// The next `count` bytes, or nil if the file ends (or fails) before them.
    func read(exactly count: Int) -> [UInt8]? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        var chunk: [UInt8] = []
        while bytes.count < count {
            guard read(into: &chunk, maximum: count - bytes.count), !chunk.isEmpty else { return nil }
            bytes += chunk
        }
        return bytes
    }
}
