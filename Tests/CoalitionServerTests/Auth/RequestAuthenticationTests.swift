import CoalitionFiles
import CoalitionKit
import CoalitionServer
import Foundation
import Testing

@Suite("Request signing: a signed request passes, every other one is 401 with a code")
struct RequestAuthenticationTests {
    /// A signed request for `target`, with the header `name` replaced (nil: removed).
    static func request(
        _ sandbox: APISandbox,
        target: String = "/v1/statements",
        at time: Timestamp = APITime.now,
        replacing name: String? = nil,
        with value: String? = nil
    ) throws -> HTTPRequest {
        var request = try sandbox.signer().request(method: "GET", target: target, at: time)
        guard let name else { return request }
        var fields = request.head.headers.fields.filter { $0.name != name }
        if let value { fields.append((name, value)) }
        request.head.headers = HTTPHeaders(fields)
        return request
    }

    /// `headers` with the value of `name` replaced.
    static func replacing(_ name: String, with value: String, in headers: HTTPHeaders) -> HTTPHeaders {
        HTTPHeaders(headers.fields.map { field in (name: field.name, value: field.name == name ? value : field.value) })
    }

    static func expect401(
        _ response: HTTPResponse,
        _ code: ReasonCode,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        #expect(response.status == 401, sourceLocation: sourceLocation)
        #expect(try errorBody(response).code == code.rawValue, sourceLocation: sourceLocation)
        #expect(response.headers["WWW-Authenticate"] == "COALITION-HMAC-SHA256", sourceLocation: sourceLocation)
    }

    @Test func aSignedRequestIsAnswered() throws {
        let sandbox = try APISandbox()
        let response = sandbox.api.respond(to: try Self.request(sandbox))
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "application/json")
    }

    @Test(arguments: ["Coalition-Partner", "Coalition-Key-Id", "Coalition-Timestamp", "Coalition-Signature"])
    func aMissingFieldIsAuthMissing(field: String) throws {
        let sandbox = try APISandbox()
        try Self.expect401(sandbox.api.respond(to: try Self.request(sandbox, replacing: field)), .authenticationMissing)
    }

    @Test(arguments: [
        ("Coalition-Signature", String(repeating: "a", count: 63)),
        ("Coalition-Signature", String(repeating: "g", count: 64)),
        ("Coalition-Timestamp", "2026-11-22 10:00:00"),
        ("Coalition-Timestamp", "1795341600"),
    ])
    func aMalformedFieldIsAuthMissing(field: String, value: String) throws {
        let sandbox = try APISandbox()
        let request = try Self.request(sandbox, replacing: field, with: value)
        try Self.expect401(sandbox.api.respond(to: request), .authenticationMissing)
    }

    @Test(arguments: [-301, 301, -86_400, 3_600])
    func aTimestampOutsideTheWindowIsStale(offset: Int64) throws {
        let sandbox = try APISandbox()
        let request = try Self.request(sandbox, at: APITime.now.adding(seconds: offset))
        try Self.expect401(sandbox.api.respond(to: request), .authenticationStale)
    }

    @Test(arguments: [-300, 300, 0])
    func aTimestampAtTheEdgeOfTheWindowPasses(offset: Int64) throws {
        let sandbox = try APISandbox()
        let request = try Self.request(sandbox, at: APITime.now.adding(seconds: offset))
        #expect(sandbox.api.respond(to: request).status == 200)
    }

    /// Unknown partner, unknown key, a key of the ring no longer valid, a key of another
    /// partner, a wrong signature: one code and one message, so none helps an attacker.
    @Test func everyFailedSignatureLooksTheSame() throws {
        let sandbox = try APISandbox()
        let skyways = try PartnerID("SKYWAYS")
        let harborSecret = try KeyFile.read(sandbox.root + "/keys/HARBOR-2026A.key")
        let signers = [
            RequestSigner(partner: try PartnerID("NOBODY"), keyID: "SKYWAYS-2026A", secret: harborSecret),
            RequestSigner(partner: skyways, keyID: "SKYWAYS-2027A", secret: harborSecret),
            try sandbox.signer(keyID: "SKYWAYS-2025A"),
            RequestSigner(partner: skyways, keyID: "HARBOR-2026A", secret: harborSecret),
            RequestSigner(partner: skyways, keyID: "SKYWAYS-2026A", secret: harborSecret),
        ]
        var bodies: [APIErrorBody] = []
        for signer in signers {
            let response = sandbox.api.respond(
                to: try signer.request(method: "GET", target: "/v1/statements", at: APITime.now)
            )
            try Self.expect401(response, .authenticationFailed)
            bodies.append(try errorBody(response))
        }
        #expect(Set(bodies.map(\.message)).count == 1)
    }

    /// A request signed, then changed in one part before it arrives: any change fails it.
    @Test(arguments: 0..<5)
    func aChangedRequestFails(part: Int) throws {
        let sandbox = try APISandbox()
        let body: [UInt8] = Array("{\"hello\":1}".utf8)
        var request = try sandbox.signer().request(
            method: "GET",
            target: "/v1/statements?x=1",
            body: .bytes(body),
            at: APITime.now
        )
        var head = request.head
        switch part {
        case 0: request.body = .bytes(body + [10])
        case 1:
            head = HTTPRequestHead(
                method: "GET",
                target: "/v1/statements?x=2",
                headers: head.headers,
                remoteAddress: ""
            )
        case 2:
            head = HTTPRequestHead(method: "GET", target: "/v1/statements", headers: head.headers, remoteAddress: "")
        case 3:
            head.headers = Self.replacing("Coalition-Timestamp", with: "2026-11-22T10:00:01Z", in: head.headers)
        default:
            head.headers = Self.replacing("Coalition-Partner", with: "HARBOR", in: head.headers)
        }
        request.head = head
        try Self.expect401(sandbox.api.respond(to: request), .authenticationFailed)
    }

    /// Generated requests: each signed one verifies against the canonical string computed
    /// independently here, and flipping any one byte of its signature fails it.
    @Test func generatedSignaturesVerifyAndFlippedOnesFail() throws {
        let sandbox = try APISandbox()
        var generator = SeededGenerator(seed: 16)
        let signer = try sandbox.signer()
        let secret = try KeyFile.read(sandbox.root + "/keys/SKYWAYS-2026A.key")
        for _ in 0..<40 {
            let length = Int.random(in: 0..<300, using: &generator)
            let body = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let query = Bool.random(using: &generator) ? "?page=\(Int.random(in: 1...9, using: &generator))" : ""
            let time = APITime.now.adding(seconds: Int64.random(in: -300...300, using: &generator))
            let request = try signer.request(
                method: "GET",
                target: "/v1/statements" + query,
                body: .bytes(body),
                at: time
            )
            let canonical = [
                "COALITION-HMAC-SHA256", "GET", "/v1/statements" + query, time.description, "SKYWAYS", "SKYWAYS-2026A",
                Hex.encode(SHA256.hash(body)),
            ].joined(separator: "\n")
            let expected = try HMACSHA256.authenticationCode(for: Array(canonical.utf8), using: secret)
            #expect(request.head.headers["Coalition-Signature"] == Hex.encode(expected))
            #expect(sandbox.api.respond(to: request).status == 200)

            var flipped = Array(Hex.encode(expected).utf8)
            let index = Int.random(in: 0..<flipped.count, using: &generator)
            flipped[index] = flipped[index] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
            var forged = request
            forged.head.headers = Self.replacing(
                "Coalition-Signature",
                with: String(decoding: flipped, as: UTF8.self),
                in: request.head.headers
            )
            try Self.expect401(sandbox.api.respond(to: forged), .authenticationFailed)
        }
    }

    /// An upload whose signature fields are wrong is not spooled: it is read into memory
    /// under the small bound and refused; a signed one is spooled under the upload maximum.
    @Test func onlyASignedDeliveryIsSpooled() throws {
        let sandbox = try APISandbox(maximumUploadBytes: 5_000_000)
        let signed = try sandbox.signer().request(method: "POST", target: "/v1/settlement-files", at: APITime.now)
        guard case .spooled(_, let maximum) = sandbox.api.bodyPolicy(for: signed.head) else {
            Issue.record("a signed delivery is not spooled")
            return
        }
        #expect(maximum == 5_000_000)
        let stale = try sandbox.signer().request(
            method: "POST",
            target: "/v1/settlement-files",
            at: APITime.now.adding(seconds: -1_000)
        )
        #expect(sandbox.api.bodyPolicy(for: stale.head) == .inMemory(maximum: PartnerAPI.maximumBodyBytes))
        let unsigned = HTTPRequestHead(
            method: "POST",
            target: "/v1/settlement-files",
            headers: HTTPHeaders(),
            remoteAddress: ""
        )
        #expect(sandbox.api.bodyPolicy(for: unsigned) == .inMemory(maximum: PartnerAPI.maximumBodyBytes))
        #expect(sandbox.api.bodyPolicy(for: try Self.request(sandbox).head) == .inMemory(maximum: 64 << 10))
    }
}
