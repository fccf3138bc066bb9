import CoalitionKit
import Foundation
import Glibc
import Synchronization

/// The HTTP/1.1 server: TLS 1.2/1.3 through libssl (plain HTTP only on loopback, when asked
/// for), one bounded thread per connection so that a responder that blocks (a write waiting
/// to be durable) stalls only its own connection, every size and time bounded.
///
/// `run()` serves until `shutdown()` (or SIGTERM/SIGINT, with `ShutdownSignals`): it stops
/// accepting, closes idle connections at once, lets the requests in flight finish within
/// `shutdownGrace`, and returns, so that the caller can save its state. A responder still
/// running after the grace is not interrupted (a thread cannot be): its connection is shut
/// and its answer lost, so a responder that writes must let its writer finish what it
/// took before the caller saves.
package final class HTTPServer: Sendable {
    private let configuration: HTTPServerConfiguration
    private let responder: any HTTPResponder
    /// The listener; taken by `run()`, which closes it when it stops accepting.
    private let listener: Mutex<Listener?>
    private let listenerDescriptor: Int32
    private let tls: TLSContext?
    /// The wake pipe: written once by `shutdown()`, never read, so it stays readable.
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let state = Mutex(State())

    /// Set once by `shutdown()`; read by every connection after each request, so it is an
    /// atomic flag rather than a field under the state's lock (64 threads reading it under
    /// one lock spent a tenth of the server's time waiting for each other).
    private let shuttingDown = ShutdownFlag()

    struct State: ~Copyable {
        var nextID = 0
        /// The sockets of connections being served, for a forced close after the grace.
        var connections: [Int: Int32] = [:]
        /// Threads answering connections beyond the maximum with 503.
        var refusing = 0
    }

    /// The port the server listens on (the system's choice when the configuration said 0).
    package let port: Int

    /// Binds the listening socket now (so `port` is known before `run()`), loads the TLS
    /// certificate and key, and refuses plain HTTP on a non-loopback address.
    package init(configuration: HTTPServerConfiguration, responder: any HTTPResponder) throws(CoalitionError) {
        if let files = configuration.tls {
            tls = try TLSContext(certificatePath: files.certificatePath, keyPath: files.keyPath)
        } else {
            guard SocketAddress.isLoopback(configuration.host) else {
                throw CoalitionError(
                    .usage,
                    "plain HTTP is served only on a loopback address (127.0.0.1, ::1, localhost), not \(configuration.host)"
                )
            }
            tls = nil
        }
        guard configuration.maximumConnections > 0 else {
            throw CoalitionError(.usage, "the maximum number of connections must be at least 1")
        }
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw systemError("pipe") }
        for end in pipeEnds {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, O_NONBLOCK)
        }
        let listener: Listener
        do {
            listener = try Listener(host: configuration.host, port: configuration.port)
        } catch {
            closeDescriptor(pipeEnds[0])
            closeDescriptor(pipeEnds[1])
            throw error
        }
        self.configuration = configuration
        self.responder = responder
        self.port = listener.port
        self.listenerDescriptor = listener.descriptor
        self.listener = Mutex(listener)
        (wakeRead, wakeWrite) = (pipeEnds[0], pipeEnds[1])
    }

    deinit {
        closeDescriptor(wakeRead)
        closeDescriptor(wakeWrite)
    }

    /// Whether connections are TLS.
    package var isTLS: Bool { tls != nil }

    /// Stops the server: `run()` stops accepting and returns once the requests in flight are
    /// answered. Safe from any thread, more than once.
    package func shutdown() {
        guard shuttingDown.set() else { return }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    package var isShuttingDown: Bool { shuttingDown.isSet }

    enum Admission: Sendable {
        case serve(Int)
        case refuse
        case drop
    }

    /// Accepts and serves connections until `shutdown()`; then drains and returns.
    package func run() throws(CoalitionError) {
        signal(SIGPIPE, SIG_IGN)
        let environment = ConnectionEnvironment(
            configuration: configuration,
            responder: responder,
            wakeDescriptor: wakeRead,
            isShuttingDown: { [shuttingDown] in shuttingDown.isSet }
        )
        while !isShuttingDown {
            guard case .ready = try waitFor(listenerDescriptor, until: .never, wake: wakeRead) else { continue }
            let taken = try listener.withLock { (listener) throws(CoalitionError) in try listener?.accept() }
            guard let (fd, remoteAddress) = taken else { continue }
            admit(fd, remoteAddress: remoteAddress, environment: environment)
        }
        listener.withLock { $0 = nil }
        drain()
    }

    /// Serves the connection on a new thread, or answers 503 if there is no room for it.
    private func admit(_ fd: Int32, remoteAddress: String, environment: ConnectionEnvironment) {
        let admission = state.withLock { state -> Admission in
            if state.connections.count < configuration.maximumConnections {
                state.nextID += 1
                state.connections[state.nextID] = fd
                return .serve(state.nextID)
            }
            // A few threads answer the excess; beyond them, it is closed without a word.
            guard state.refusing < max(4, configuration.maximumConnections / 8) else { return .drop }
            state.refusing += 1
            return .refuse
        }
        let stream: any ByteStream
        do {
            stream = try makeStream(fd)
        } catch {
            closeDescriptor(fd)
            release(admission)
            return
        }
        let handoff = Handoff(stream)
        switch admission {
        case .serve:
            startThread {
                HTTPConnection(stream: handoff.value, remoteAddress: remoteAddress, environment: environment)
                    .serve(release: { self.release(admission) })
            }
        case .refuse:
            let deadline = Deadline.after(min(configuration.headerTimeout, .seconds(2)))
            startThread {
                let busy = CoalitionError(.serverBusy, "the server is at its connection limit; try again shortly")
                HTTPConnection.refuse(handoff.value, with: busy, until: deadline)
                self.configuration.log("http \(remoteAddress): 503 SERVER_BUSY")
                self.release(admission)
            }
        case .drop:
            stream.close(linger: .after(.zero))
        }
    }

    /// Gives back a connection's slot. A served connection's socket leaves the list before it
    /// is closed, so the forced close at the end of a shutdown never touches a reused one.
    private func release(_ admission: Admission) {
        state.withLock { state in
            switch admission {
            case .serve(let id): _ = state.connections.removeValue(forKey: id)
            case .refuse: state.refusing -= 1
            case .drop: break
            }
        }
    }

    private func makeStream(_ fd: Int32) throws(CoalitionError) -> any ByteStream {
        guard let tls else { return PlainStream(descriptor: fd) }
        return try tls.makeStream(descriptor: fd)
    }

    /// A thread for a connection, with a 4 MiB stack (only the pages it touches are used).
    private func startThread(_ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.stackSize = 4 << 20
        thread.start()
    }

    /// Waits for the connections in flight, up to the grace; then shuts their sockets so
    /// that their threads end, and waits a little more.
    private func drain() {
        let graceEnd = Deadline.after(configuration.shutdownGrace)
        while !graceEnd.hasPassed, state.withLock({ !$0.connections.isEmpty || $0.refusing > 0 }) {
            usleep(5000)
        }
        state.withLock { state in
            for fd in state.connections.values { _ = Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
        }
        let end = Deadline.after(.seconds(1))
        while !end.hasPassed, state.withLock({ !$0.connections.isEmpty }) {
            usleep(5000)
        }
    }
}

/// A flag raised once, read often, from any thread.
final class ShutdownFlag: Sendable {
    private let raised = Atomic(false)

    var isSet: Bool { raised.load(ordering: .acquiring) }

    /// Raises the flag; true only for the call that raised it.
    func set() -> Bool {
        raised.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }
}

/// A value handed from the accepting thread to the one thread that will use it; the
/// accepting thread never touches it again, so it is never shared (hence unchecked).
struct Handoff<Value>: @unchecked Sendable {
    let value: Value

    init(_ value: Value) { self.value = value }
}
