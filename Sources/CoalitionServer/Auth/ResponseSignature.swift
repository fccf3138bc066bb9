import CoalitionKit

/// The signature on an answer the partner keeps as evidence (`POST /v1/records`,
/// `docs/api.md`, "Signed answers"): HMAC-SHA256 under the key the request was signed with,
/// over nine lines joined by LF, with no LF after the last:
///
/// ```
/// COALITION-HMAC-SHA256-RESPONSE
/// 200
/// POST
/// /v1/records
/// 2026-11-22T10:15:01Z
/// SKYWAYS
/// SKYWAYS-2026A
/// <the request's Coalition-Signature, hex>
/// <hex SHA-256 of the answer's body>
/// ```
///
/// The first line differs from a request's and from any file's, so no signature of one kind
/// passes as another's; the request's signature ties the answer to the request it answers.
package struct ResponseSignature: Sendable, Equatable {
    package static let scheme = "COALITION-HMAC-SHA256-RESPONSE"

    package var status: Int
    package var method: String
    package var target: String
    package var timestamp: Timestamp
    package var partner: PartnerID
    package var keyID: String
    /// The request's `Coalition-Signature` value, as sent.
    package var requestSignature: String
    package var bodyDigest: [UInt8]

    package init(
        status: Int,
        method: String,
        target: String,
        timestamp: Timestamp,
        partner: PartnerID,
        keyID: String,
        requestSignature: String,
        bodyDigest: [UInt8]
    ) {
        self.status = status
        self.method = method
        self.target = target
        self.timestamp = timestamp
        self.partner = partner
        self.keyID = keyID
        self.requestSignature = requestSignature
        self.bodyDigest = bodyDigest
    }

    /// The string to sign.
    package var string: String {
        [
            ResponseSignature.scheme, String(status), method, target, timestamp.description, partner.rawValue,
            keyID, requestSignature, Hex.encode(bodyDigest),
        ]
        .joined(separator: "\n")
    }

    /// HMAC-SHA256 of the string under `secret`.
    package func signature(using secret: [UInt8]) throws -> [UInt8] {
        try HMACSHA256.authenticationCode(for: Array(string.utf8), using: secret)
    }
}

extension PartnerAPI {
    /// `response` with the signature fields of `ResponseSignature` added, under the key
    /// `request` was signed with. A body held in a file is not signed here (no such answer
    /// is signed); a response that cannot be signed is returned as it is.
    /// `partner` is the one the request was authenticated as; its key is looked up again
    /// by id, not re-checked for freshness, so an answer that waited long is still signed.
    func signed(_ response: HTTPResponse, answering request: HTTPRequest, for partner: PartnerID) -> HTTPResponse {
        typealias Field = CanonicalRequest.Field
        guard case .bytes(let body) = response.body, let keyID = request.head.headers[Field.keyID],
            let key = authenticator.rings[partner]?.key(id: keyID),
            let requestSignature = request.head.headers[Field.signature]
        else { return response }
        let signature = ResponseSignature(
            status: response.status,
            method: request.head.method,
            target: request.head.target,
            timestamp: now(),
            partner: partner,
            keyID: keyID,
            requestSignature: requestSignature,
            bodyDigest: CanonicalRequest.digest(of: body)
        )
        guard let mac = try? signature.signature(using: key.secret) else { return response }
        var signedResponse = response
        signedResponse.headers.add(CanonicalRequest.Field.partner, partner.rawValue)
        signedResponse.headers.add(CanonicalRequest.Field.keyID, signature.keyID)
        signedResponse.headers.add(CanonicalRequest.Field.timestamp, signature.timestamp.description)
        signedResponse.headers.add(CanonicalRequest.Field.signature, Hex.encode(mac))
        return signedResponse
    }
}
