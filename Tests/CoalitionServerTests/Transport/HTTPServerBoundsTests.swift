import CoalitionKit
import CoalitionTestSupport
import Foundation
import Glibc
import Synchronization
import Testing

@testable import CoalitionServer

@Suite("HTTP server bounds: slow clients, connection limit, uploads, shutdown", .serialized)
struct HTTPServerBoundsTests {
    @Test func aHeadThatDoesNotArriveInTimeIsAnswered408() throws {
        var configuration = testConfiguration()
        configuration.headerTimeout = .milliseconds(300)
        let server = try RunningServer(configuration, responder: TestResponder())
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        try client.send("GET / HTTP/1.1\r\nHost: a\r\n")
        let response = try #require(try client.response())
        #expect(response.status == 408)
        #expect(response.errorCode == "REQUEST_TIMEOUT")
        #expect(client.isClosedByServer())
        // A connection that sends nothing is closed without a word.
        let silent = try TestClient(port: server.port)
        #expect(try silent.response() == nil)
    }

    @Test func anIdleKeptAliveConnectionIsClosedAfterTheIdleTimeout() throws {
        var configuration = testConfiguration()
        configuration.idleTimeout = .milliseconds(200)
        configuration.maximumConnections = 1
        let server = try RunningServer(configuration, responder: TestResponder())
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        try client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try client.response()?.headers["Connection"] == "keep-alive")
        #expect(client.isClosedByServer())
        // Its slot is free again.
        #expect(waitUntil { (try? TestClient(port: server.port).exchange()) == 200 })
    }

    @Test func aSlowBodyCannotHoldItsSlot() throws {
        var configuration = testConfiguration()
        configuration.minimumBodyRate = 1000
        configuration.bodyRateGrace = .milliseconds(200)
        let responder = TestResponder()
        let server = try RunningServer(configuration, responder: responder)
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        try client.send("POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 10000\r\n\r\n")
        var answer: TestResponse?
        // 10 bytes every 100 ms is 100 bytes a second: a tenth of the minimum. Bounded at
        // 100 sends (10 s); the server answers long before.
        for _ in 0..<100 {
            do {
                try client.send(String(repeating: "a", count: 10))
            } catch {
                break
            }
            usleep(100_000)
            if let response = try? client.response(seconds: 0) {
                answer = response
                break
            }
        }
        let response = try #require(try answer ?? client.response())
        #expect(response.status == 408)
        #expect(response.errorCode == "BODY_TOO_SLOW")
        #expect(responder.handed.withLock { $0.isEmpty })
    }

    @Test func connectionsBeyondTheMaximumAreAnswered503() throws {
        var configuration = testConfiguration()
        configuration.maximumConnections = 2
        let server = try RunningServer(configuration, responder: TestResponder())
        defer { server.stop() }
        var held: [TestClient] = []
        for _ in 0..<2 {
            let client = try TestClient(port: server.port)
            try client.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try client.response()?.status == 200)
            held.append(client)
        }
        let third = try TestClient(port: server.port)
        try third.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        let response = try #require(try third.response())
        #expect(response.status == 503)
        #expect(response.errorCode == "SERVER_BUSY")
        #expect(third.isClosedByServer())
        // A slot given back is served again.
        try held[0].send("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        _ = try held[0].response()
        #expect(held[0].isClosedByServer())
        var served = false
        for _ in 0..<50 where !served {
            let next = try TestClient(port: server.port)
            try next.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            served = try next.response()?.status == 200
            if !served { usleep(20000) }
        }
        #expect(served)
    }

    @Test(arguments: [false, true])
    func aLargeUploadIsSpooledToDiskAndRemovedAfterTheAnswer(chunked: Bool) throws {
        let spool = makeTemporaryDirectory("spool")
        defer { try? FileManager.default.removeItem(atPath: spool) }
        let responder = TestResponder(spoolDirectory: spool, memoryMaximum: 1024, spoolMaximum: 8 << 20)
        let server = try RunningServer(testConfiguration(), responder: responder)
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        let body = uploadPattern(3 << 20)
        if chunked {
            try client.send("POST /spool HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
            var offset = 0
            while offset < body.count {
                let size = min(body.count - offset, 100_000 + offset % 977)
                try client.send(
                    Array((String(size, radix: 16) + "\r\n").utf8) + body[offset..<(offset + size)] + [13, 10]
                )
                offset += size
            }
            try client.send("0\r\n\r\n")
        } else {
            try client.send("POST /spool HTTP/1.1\r\nHost: a\r\nContent-Length: \(body.count)\r\n\r\n")
            try client.send(body)
        }
        let response = try #require(try client.response())
        #expect(response.text == "spooled \(body.count) true")
        #expect(try FileManager.default.contentsOfDirectory(atPath: spool).isEmpty)
        // Over the spool maximum: refused from the announced length.
        try client.send("POST /spool HTTP/1.1\r\nHost: a\r\nContent-Length: \(9 << 20)\r\n\r\n")
        #expect(try client.response()?.errorCode == "BODY_TOO_LARGE")
    }

    @Test func aServerSideFailureIsLoggedWholeAndAnsweredWithoutItsDetail() throws {
        let missing = NSTemporaryDirectory() + "coalition-missing-\(UInt32.random(in: 0...UInt32.max))"
        let lines = Mutex<[String]>([])
        var configuration = testConfiguration()
        configuration.log = { line in lines.withLock { $0.append(line) } }
        let server = try RunningServer(configuration, responder: TestResponder(spoolDirectory: missing))
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        try client.send("POST /spool HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
        let response = try #require(try client.response())
        #expect(response.status == 500)
        #expect(response.errorCode == "INTERNAL")
        #expect(!response.text.contains(missing))
        #expect(
            lines.withLock { $0.contains { $0.contains("IO_ERROR") && $0.contains(missing) && $0.contains("errno") } }
        )
    }

    @Test func anUploadKilledHalfWayLeavesNothing() throws {
        let spool = makeTemporaryDirectory("killed")
        defer { try? FileManager.default.removeItem(atPath: spool) }
        let responder = TestResponder(spoolDirectory: spool)
        let server = try RunningServer(testConfiguration(), responder: responder)
        defer { server.stop() }
        var client: TestClient? = try TestClient(port: server.port)
        try client?.send("POST /spool HTTP/1.1\r\nHost: a\r\nContent-Length: \(10 << 20)\r\n\r\n")
        try client?.send(uploadPattern(1 << 20))
        // The spool file is there while the upload is under way...
        #expect(waitUntil { (try? FileManager.default.contentsOfDirectory(atPath: spool).count) == 1 })
        client = nil
        // ...and gone once the client has vanished, with nothing handed to the responder.
        #expect(waitUntil { (try? FileManager.default.contentsOfDirectory(atPath: spool).isEmpty) == true })
        #expect(responder.handed.withLock { $0.isEmpty })
    }

    @Test func aRequestBeingAnsweredDoesNotStallTheOthers() throws {
        let responder = TestResponder()
        let server = try RunningServer(testConfiguration(), responder: responder)
        defer { server.stop() }
        let held = try TestClient(port: server.port)
        try held.send("GET /hold HTTP/1.1\r\nHost: a\r\n\r\n")
        responder.entered.wait()
        // While that responder blocks, other connections are served to the end.
        for index in 0..<5 {
            let other = try TestClient(port: server.port)
            try other.send("POST /other HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n\(index)")
            #expect(try other.response()?.text == "\(index)")
        }
        responder.gate.signal()
        #expect(try held.response()?.status == 200)
    }

    @Test func shutdownFinishesTheRequestsInFlightAndClosesIdleConnections() throws {
        let responder = TestResponder()
        let server = try RunningServer(testConfiguration(), responder: responder)
        let idle = try TestClient(port: server.port)
        try idle.send("GET /first HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try idle.response()?.status == 200)
        let busy = try TestClient(port: server.port)
        try busy.send("POST /hold HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nheld")
        responder.entered.wait()
        server.server.shutdown()
        #expect(idle.isClosedByServer())
        // No new connection is served once the server stops accepting.
        #expect((try? TestClient(port: server.port).response(seconds: 2)) == nil)
        // The request in flight is still answered, and told the connection closes.
        responder.gate.signal()
        let answer = try #require(try busy.response())
        #expect(answer.status == 200)
        #expect(answer.text == "held")
        #expect(answer.headers["Connection"] == "close")
        #expect(server.waitUntilStopped(seconds: 10))
    }
}

extension TestClient {
    /// One GET, its status.
    func exchange(_ path: String = "/") throws -> Int? {
        try send("GET \(path) HTTP/1.1\r\nHost: a\r\n\r\n")
        return try response(seconds: 2)?.status
    }
}

/// Polls `condition` every 10 ms, at most 10 s; whether it became true.
func waitUntil(_ condition: () -> Bool) -> Bool {
    for _ in 0..<1000 {
        if condition() { return true }
        usleep(10_000)
    }
    return false
}
