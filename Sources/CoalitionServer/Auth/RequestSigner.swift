import CoalitionKit

/// Signs API requests as a partner's system does: the header fields of `CanonicalRequest`
/// for a request, under one key of the partner's ring. Tests, the demo and the benchmark
/// use it; a partner in another language follows `docs/api.md`.
package struct RequestSigner: Sendable {
    package let partner: PartnerID
    package let keyID: String
    private let secret: [UInt8]

    package init(partner: PartnerID, keyID: String, secret: [UInt8]) {
        self.partner = partner
        self.keyID = keyID
        self.secret = secret
    }

    /// The signature header fields for a request whose body has SHA-256 `bodyDigest`.
    package func headers(
        method: String,
        target: String,
        bodyDigest: [UInt8],
        at time: Timestamp
    ) throws -> [(name: String, value: String)] {
        let canonical = CanonicalRequest(
            method: method,
            target: target,
            timestamp: time,
            partner: partner,
            keyID: keyID,
            bodyDigest: bodyDigest
        )
        return [
            (CanonicalRequest.Field.partner, partner.rawValue),
            (CanonicalRequest.Field.keyID, keyID),
            (CanonicalRequest.Field.timestamp, time.description),
            (CanonicalRequest.Field.signature, Hex.encode(try canonical.signature(using: secret))),
        ]
    }

    /// A whole signed request, as the transport would hand it to a responder.
    package func request(
        method: String,
        target: String,
        body: HTTPRequestBody = .bytes([]),
        at time: Timestamp,
        remoteAddress: String = "127.0.0.1:0"
    ) throws -> HTTPRequest {
        let digest: [UInt8]
        switch body {
        case .bytes(let bytes): digest = CanonicalRequest.digest(of: bytes)
        case .file(let path, _): digest = try CanonicalRequest.digest(ofFile: path)
        }
        let fields = try headers(method: method, target: target, bodyDigest: digest, at: time)
        let head = HTTPRequestHead(
            method: method,
            target: target,
            headers: HTTPHeaders(fields),
            remoteAddress: remoteAddress
        )
        return HTTPRequest(head: head, body: body)
    }
}
