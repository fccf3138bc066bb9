import CoalitionKit
import CoalitionTestSupport
import Foundation
import Glibc
import Synchronization
import Testing

@testable import CoalitionServer

/// A server running on its own thread on 127.0.0.1, port chosen by the system.
final class RunningServer: Sendable {
    let server: HTTPServer
    private let stopped = DispatchSemaphore(value: 0)

    init(_ configuration: HTTPServerConfiguration, responder: any HTTPResponder) throws {
        server = try HTTPServer(configuration: configuration, responder: responder)
        let thread = Thread { [server, stopped] in
            try? server.run()
            stopped.signal()
        }
        thread.start()
    }

    var port: Int { server.port }

    /// Shuts down and waits for `run()` to return (bounded: the grace plus a little).
    func stop() {
        server.shutdown()
        _ = stopped.wait(timeout: .now() + 15)
    }

    /// Whether `run()` returned within `seconds`.
    func waitUntilStopped(seconds: Int) -> Bool {
        stopped.wait(timeout: .now() + .seconds(seconds)) == .success
    }
}

/// Short bounds so that tests of timeouts end quickly.
func testConfiguration(tls: Bool = false) -> HTTPServerConfiguration {
    var configuration = HTTPServerConfiguration(
        host: "127.0.0.1",
        port: 0,
        tls: tls ? TestCertificate.shared.files : nil
    )
    configuration.headerTimeout = .seconds(5)
    configuration.idleTimeout = .seconds(5)
    configuration.writeTimeout = .seconds(5)
    configuration.shutdownGrace = .seconds(8)
    configuration.minimumBodyRate = 1000
    configuration.bodyRateGrace = .seconds(2)
    return configuration
}

/// One self-signed certificate for the whole test run.
final class TestCertificate: Sendable {
    static let shared = TestCertificate()
    let folder: String
    let files: HTTPServerConfiguration.TLSFiles

    private init() {
        folder = NSTemporaryDirectory() + "coalition-tls-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try! FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        files = HTTPServerConfiguration.TLSFiles(certificatePath: folder + "/cert.pem", keyPath: folder + "/key.pem")
        try! makeSelfSignedCertificate(certificatePath: files.certificatePath, keyPath: files.keyPath)
    }
}

/// A temporary directory, removed with its contents by `remove()`.
func makeTemporaryDirectory(_ name: String) -> String {
    let path = NSTemporaryDirectory() + "coalition-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A test's client connection, plain or TLS, on the server's own stream types.
final class TestClient {
    let stream: any ByteStream
    private var buffer: [UInt8] = []

    init(port: Int, tls: TLSContext? = nil) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw systemError("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            closeDescriptor(fd)
            throw systemError("connect", code)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        if let tls {
            let stream = try tls.makeStream(descriptor: fd, hostName: "localhost")
            try stream.handshake(until: .after(.seconds(5)))
            self.stream = stream
        } else {
            stream = PlainStream(descriptor: fd)
        }
    }

    deinit { stream.close(linger: .after(.zero)) }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        try stream.write(bytes, until: .after(.seconds(5)))
    }

    /// The next response: status, headers, body (by Content-Length, none for a HEAD
    /// request); nil if the server closed the connection first.
    func response(toHead: Bool = false, seconds: Int = 10) throws -> TestResponse? {
        let deadline = Deadline.after(.seconds(seconds))
        while true {
            if let end = find(Array("\r\n\r\n".utf8)) {
                let head = String(decoding: buffer[..<end], as: UTF8.self)
                var lines = head.components(separatedBy: "\r\n")
                let status = Int(lines.removeFirst().split(separator: " ")[1])!
                var headers = HTTPHeaders()
                for line in lines {
                    let colon = line.firstIndex(of: ":")!
                    headers.add(
                        String(line[..<colon]),
                        line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                    )
                }
                let length = toHead ? 0 : Int(headers["Content-Length"] ?? "0")!
                while buffer.count < end + 4 + length {
                    guard try fill(deadline) else { return nil }
                }
                let body = Array(buffer[(end + 4)..<(end + 4 + length)])
                buffer.removeFirst(end + 4 + length)
                return TestResponse(status: status, headers: headers, body: body)
            }
            guard try fill(deadline) else { return nil }
        }
    }

    /// Whether the server closed the connection (reads the end of the stream, bounded).
    func isClosedByServer(seconds: Int = 10) -> Bool {
        let deadline = Deadline.after(.seconds(seconds))
        while true {
            do {
                guard try fill(deadline) else { return true }
            } catch StreamFault.closed {
                return true
            } catch {
                return false
            }
        }
    }

    private func fill(_ deadline: Deadline) throws -> Bool {
        try stream.read(into: &buffer, maximum: 65536, until: deadline, wake: nil) > 0
    }

    private func find(_ needle: [UInt8]) -> Int? {
        guard buffer.count >= needle.count else { return nil }
        for start in 0...(buffer.count - needle.count)
        where buffer[start..<(start + needle.count)].elementsEqual(needle) {
            return start
        }
        return nil
    }
}

struct TestResponse {
    let status: Int
    let headers: HTTPHeaders
    let body: [UInt8]

    var errorCode: String? {
        try? JSONDecoder().decode(HTTPErrorBody.self, from: Data(body)).code
    }

    var text: String { String(decoding: body, as: UTF8.self) }
}

/// What the test responder saw, and a gate a test can hold requests at.
final class TestResponder: HTTPResponder {
    let spoolDirectory: String
    let memoryMaximum: Int
    let spoolMaximum: Int64
    /// Requests handed over whole, by path.
    let handed = Mutex<[String]>([])
    /// `/hold` requests wait here until the test signals.
    let gate = DispatchSemaphore(value: 0)
    let entered = DispatchSemaphore(value: 0)

    init(spoolDirectory: String = NSTemporaryDirectory(), memoryMaximum: Int = 65536, spoolMaximum: Int64 = 64 << 20) {
        self.spoolDirectory = spoolDirectory
        self.memoryMaximum = memoryMaximum
        self.spoolMaximum = spoolMaximum
    }

    func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy {
        head.path == "/spool"
            ? .spooled(directory: spoolDirectory, maximum: spoolMaximum) : .inMemory(maximum: memoryMaximum)
    }

    func respond(to request: HTTPRequest) -> HTTPResponse {
        handed.withLock { $0.append(request.head.path) }
        if request.head.path == "/hold" {
            entered.signal()
            gate.wait()
        }
        switch request.body {
        case .bytes(let bytes):
            return HTTPResponse(status: 200, body: .bytes(bytes))
        case .file(let path, let length):
            let bytes = FileManager.default.contents(atPath: path).map(Array.init) ?? []
            let matches = bytes.count == length && bytes == uploadPattern(Int(length))
            return HTTPResponse(status: 200, body: .bytes(Array("spooled \(length) \(matches)".utf8)))
        }
    }
}

/// Deterministic upload bytes, all 256 values.
func uploadPattern(_ count: Int) -> [UInt8] {
    [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        for index in 0..<count { buffer[index] = UInt8(truncatingIfNeeded: index &* 31 &+ index >> 9) }
        initialized = count
    }
}

/// Runs a program to its end (bounded by `seconds`): its exit status and its output.
func runProgram(_ path: String, _ arguments: [String], seconds: Int = 20) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let timer = DispatchWorkItem { process.terminate() }
    DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(seconds), execute: timer)
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    timer.cancel()
    return (process.terminationStatus, String(decoding: output, as: UTF8.self))
}
