import CoalitionKit
import Foundation
import Synchronization
import Testing

@testable import CoalitionServer

@Suite("HTTP server over real sockets: exchanges, keep-alive, limits", .serialized)
struct HTTPServerTests {
    static let malformed: [(String, Int, String)] = [
        (
            "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
            "CONTENT_LENGTH_WITH_TRANSFER_ENCODING"
        ),
        (
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc", 400,
            "CONFLICTING_CONTENT_LENGTH"
        ),
        ("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400, "OBSOLETE_LINE_FOLDING"),
        ("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400, "BARE_CR"),
        ("GET / HTTP/1.1\nHost: a\r\n\r\n", 400, "BARE_LF"),
        ("GET / HTTP/1.1\r\nHost: a\u{1}\r\n\r\n", 400, "BAD_HEADER_VALUE"),
        ("GET / HTTP/1.1\r\nHo st: a\r\n\r\n", 400, "BAD_HEADER_NAME"),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "UNSUPPORTED_TRANSFER_ENCODING"),
        ("POST / HTTP/1.1\r\nHost: a\r\n\r\n", 411, "LENGTH_REQUIRED"),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 70000\r\n\r\n", 413, "BODY_TOO_LARGE"),
        ("GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\nHost: a\r\n\r\n", 414, "REQUEST_LINE_TOO_LONG"),
        (
            "GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "a", count: 17000) + "\r\n\r\n", 431,
            "HEADERS_TOO_LARGE"
        ),
        ("GET / HTTP/1.1\r\n" + String(repeating: "X: a\r\n", count: 101) + "\r\n", 431, "TOO_MANY_HEADERS"),
        ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "HTTP_VERSION_NOT_SUPPORTED"),
        ("GET / HTTP/1.1\r\n\r\n", 400, "BAD_HOST"),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n", 400, "BAD_CHUNK"),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX", 400, "BAD_CHUNK"),
        ("GET / HTTP/1.1\r\nHost: a\r\nExpect: later\r\n\r\n", 417, "UNSUPPORTED_EXPECTATION"),
    ]

    @Test(arguments: malformed)
    func malformedRequestsAreAnsweredWithTheirCodeAndTheConnectionClosed(
        text: String,
        status: Int,
        code: String
    )
        throws
    {
        let server = try RunningServer(testConfiguration(), responder: TestResponder())
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        try client.send(text)
        let response = try #require(try client.response())
        #expect(response.status == status)
        #expect(response.errorCode == code)
        #expect(response.headers["Content-Type"] == "application/json")
        #expect(response.headers["Connection"] == "close")
        #expect(client.isClosedByServer())
    }

    @Test func keepAliveServesRequestsInTurnAndPipelined() throws {
        let responder = TestResponder()
        let server = try RunningServer(testConfiguration(), responder: responder)
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        for index in 0..<3 {
            try client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nbody\(index)")
            let response = try #require(try client.response())
            #expect(response.status == 200)
            #expect(response.text == "body\(index)")
            #expect(response.headers["Connection"] == "keep-alive")
        }
        // Two requests in one write, the second chunked: two answers, in order.
        try client.send(
            "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx"
                + "POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2;e=1\r\nyz\r\n0\r\nT: 1\r\n\r\n"
        )
        #expect(try client.response()?.text == "x")
        #expect(try client.response()?.text == "yz")
        try client.send("GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        let last = try #require(try client.response())
        #expect(last.headers["Connection"] == "close")
        #expect(client.isClosedByServer())
        #expect(responder.handed.withLock { $0 } == ["/echo", "/echo", "/echo", "/a", "/b", "/last"])
    }

    @Test func http10ClosesUnlessKeepAliveIsAsked() throws {
        let server = try RunningServer(testConfiguration(), responder: TestResponder())
        defer { server.stop() }
        let kept = try TestClient(port: server.port)
        try kept.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(try kept.response()?.headers["Connection"] == "keep-alive")
        try kept.send("GET / HTTP/1.0\r\n\r\n")
        #expect(try kept.response()?.headers["Connection"] == "close")
        #expect(kept.isClosedByServer())
    }

    @Test func headAnswersWithoutABodyAndExpectContinueIsHonoured() throws {
        let server = try RunningServer(testConfiguration(), responder: ServerResponder())
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        try client.send("HEAD /health HTTP/1.1\r\nHost: a\r\n\r\n")
        let head = try #require(try client.response(toHead: true))
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
        try client.send("GET /health HTTP/1.1\r\nHost: a\r\n\r\n")
        let health = try #require(try client.response())
        #expect(health.text == #"{"status":"ok"}"#)
        #expect(head.headers["Content-Length"] == health.headers["Content-Length"])
        try client.send("POST /health HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        let interim = try #require(try client.response())
        #expect(interim.status == 100)
        try client.send("{}")
        let refused = try #require(try client.response())
        #expect(refused.status == 405)
        #expect(refused.errorCode == "METHOD_NOT_ALLOWED")
        try client.send("GET /nothing HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try client.response()?.errorCode == "NOT_FOUND")
    }

    @Test func aChunkedBodyOverTheMaximumIsRefused() throws {
        let server = try RunningServer(testConfiguration(), responder: TestResponder(memoryMaximum: 100))
        defer { server.stop() }
        let client = try TestClient(port: server.port)
        try client.send("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n")
        try client.send(String(repeating: "a", count: 100) + "\r\n1\r\nb\r\n0\r\n\r\n")
        let response = try #require(try client.response())
        #expect(response.status == 413)
        #expect(response.errorCode == "BODY_TOO_LARGE")
    }

    @Test func plainHTTPIsRefusedOffLoopback() {
        #expect(throws: CoalitionError.self) {
            _ = try HTTPServer(
                configuration: HTTPServerConfiguration(host: "0.0.0.0", port: 0, tls: nil),
                responder: ServerResponder()
            )
        }
        #expect(SocketAddress.isLoopback("127.0.0.1"))
        #expect(SocketAddress.isLoopback("127.8.9.10"))
        #expect(SocketAddress.isLoopback("::1"))
        #expect(SocketAddress.isLoopback("localhost"))
        #expect(!SocketAddress.isLoopback("0.0.0.0"))
        #expect(!SocketAddress.isLoopback("::"))
        #expect(!SocketAddress.isLoopback("10.0.0.1"))
    }
}
