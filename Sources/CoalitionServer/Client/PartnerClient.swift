import CoalitionKit

/// A partner's system speaking the partner API (`docs/api.md`): every request signed under
/// one key of the partner's ring, over one keep-alive HTTPS connection. The demo and the
/// benchmark use it; a partner in another language follows `docs/api.md`.
package final class PartnerClient {
    package let signer: RequestSigner
    let http: HTTPSClient
    /// The time the requests are signed at (the wall clock, or a test's).
    let now: () -> Timestamp

    package init(signer: RequestSigner, http: HTTPSClient, now: @escaping () -> Timestamp) {
        self.signer = signer
        self.http = http
        self.now = now
    }

    /// Delivers the signed settlement file at `path`; the answer is its acknowledgement (or
    /// a JSON error).
    package func deliver(settlementFile path: String, length: Int64) throws -> HTTPSClient.Response {
        let digest = try CanonicalRequest.digest(ofFile: path)
        return try send("POST", "/v1/settlement-files", digest: digest, body: .file(path: path, length: length))
    }

    package func acknowledgement(sequence: Int64) throws -> HTTPSClient.Response {
        try send("GET", "/v1/acknowledgements/\(sequence)")
    }

    package func statements() throws -> HTTPSClient.Response {
        try send("GET", "/v1/statements")
    }

    package func statement(cycle: Int64) throws -> HTTPSClient.Response {
        try send("GET", "/v1/statements/\(cycle)")
    }

    /// A signed request of any method and target, with a small body.
    package func send(
        _ method: String,
        _ target: String,
        body bytes: [UInt8] = [],
        fields: [(name: String, value: String)] = []
    ) throws -> HTTPSClient.Response {
        try send(method, target, digest: CanonicalRequest.digest(of: bytes), body: .bytes(bytes), fields: fields)
    }

    private func send(
        _ method: String,
        _ target: String,
        digest: [UInt8],
        body: HTTPRequestBody = .bytes([]),
        fields: [(name: String, value: String)] = []
    ) throws -> HTTPSClient.Response {
        let signed = try signer.headers(method: method, target: target, bodyDigest: digest, at: now())
        return try http.send(method: method, target: target, fields: fields + signed, body: body)
    }
}
