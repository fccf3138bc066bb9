import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

@testable import CoalitionServer

@Suite struct RequestLogTests {
    /// One JSON line per request, in a file made owner-only, with the route's template and
    /// nothing of the request's secrets.
    @Test func eachRequestIsOneJSONLineWithoutSecrets() throws {
        let path = NSTemporaryDirectory() + "coalition-log-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let observed = try ObservedSandbox(log: try RequestLog(path: path))
        let signed = try observed.sandbox.signer().request(
            method: "GET",
            target: "/v1/acknowledgements/42",
            at: APITime.now
        )
        let answered = observed.responder.respond(to: signed)
        #expect(answered.status == 404)
        #expect(observed.get("/health").status == 200)
        let forged = HTTPRequestHead(
            method: "GET",
            target: "/v1/statements",
            headers: HTTPHeaders([("Coalition-Partner", "not a partner\n{\"x\":1}")]),
            remoteAddress: "127.0.0.1:9"
        )
        #expect(observed.responder.respond(to: HTTPRequest(head: forged, body: .bytes([]))).status == 401)

        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 3)
        let decoded = try lines.map { try JSONDecoder().decode(LoggedLine.self, from: Data($0.utf8)) }
        #expect(decoded[0].route == "/v1/acknowledgements/{sequence}")
        #expect(decoded[0].partner == "SKYWAYS")
        #expect(decoded[0].status == 404)
        #expect(decoded[0].method == "GET")
        #expect(decoded[0].time == "2026-11-22T10:00:00Z")
        #expect(decoded[0].request_id == answered.headers["X-Request-Id"])
        #expect(decoded[0].request_id.utf8.count == 16)
        #expect(decoded[0].duration_us >= 0)
        #expect(decoded[1].route == "/health" && decoded[1].partner == nil)
        #expect(decoded[2].partner == nil && decoded[2].status == 401)
        #expect(Set(decoded.map(\.request_id)).count == 3)
        // Neither the path's number nor the signature reaches the log.
        let signature = try #require(signed.head.headers["Coalition-Signature"])
        #expect(!text.contains(signature))
        #expect(!text.contains("/42"))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}

/// A log line as an operator's tool reads it.
struct LoggedLine: Decodable {
    let time: String
    let request_id: String
    let method: String
    let route: String
    let partner: String?
    let status: Int
    let duration_us: Int64
}
