import CoalitionKit

/// Checks a partner's signed request (`docs/api.md`, "Signing a request"): the signature
/// fields are there and well formed, the timestamp is within ±300 s of the server's clock,
/// the partner has the named key and it is valid at that time (the rotation rules of files),
/// and the HMAC over the canonical string matches, compared in constant time.
///
/// API requests are signed with the partner's file-signing keys: one ring, rotated once,
/// with the validity windows the network definition gives. The canonical string's first
/// line keeps the two uses apart (see `CanonicalRequest`).
struct RequestAuthenticator: Sendable {
    /// The signature fields of a head, parsed, with the key they name.
    struct Claims {
        let partner: PartnerID
        let key: KeyRing.Key
        let timestamp: Timestamp
        let signature: [UInt8]
    }

    /// Every partner's key ring, loaded when the server starts.
    let rings: [PartnerID: KeyRing]
    let now: @Sendable () -> Timestamp

    /// What the head claims, checked as far as can be without the body. Used before an
    /// upload is spooled, so an unsigned or stale request never fills the disk.
    func claims(_ head: HTTPRequestHead) throws(APIError) -> Claims {
        typealias Field = CanonicalRequest.Field
        guard let partnerText = head.headers[Field.partner], let keyID = head.headers[Field.keyID],
            let timeText = head.headers[Field.timestamp], let signatureText = head.headers[Field.signature],
            signatureText.utf8.count == 64, let signature = Hex.decode(signatureText.utf8),
            let timestamp = try? Timestamp(parsing: timeText)
        else { throw RequestAuthenticator.missing }
        let now = self.now()
        guard abs(timestamp.seconds - now.seconds) <= CanonicalRequest.allowedSkewSeconds else {
            throw APIError(
                status: 401,
                code: .authenticationStale,
                message: "the request's timestamp is more than \(CanonicalRequest.allowedSkewSeconds) seconds "
                    + "from the server's clock; check the clock and sign again",
                headers: RequestAuthenticator.challenge
            )
        }
        guard let partner = try? PartnerID(partnerText), let ring = rings[partner], let key = ring.key(id: keyID),
            key.info.isValid(at: timestamp)
        else { throw RequestAuthenticator.failed }
        return Claims(partner: partner, key: key, timestamp: timestamp, signature: signature)
    }

    /// The partner that signed `request`, or a 401.
    func authenticate(_ request: HTTPRequest) throws(APIError) -> PartnerID {
        let claims = try self.claims(request.head)
        let digest: [UInt8]
        do {
            switch request.body {
            case .bytes(let bytes): digest = CanonicalRequest.digest(of: bytes)
            case .file(let path, _): digest = try CanonicalRequest.digest(ofFile: path)
            }
        } catch {
            throw APIError.from(error)
        }
        let canonical = CanonicalRequest(
            method: request.head.method,
            target: request.head.target,
            timestamp: claims.timestamp,
            partner: claims.partner,
            keyID: claims.key.info.id,
            bodyDigest: digest
        )
        guard let expected = try? canonical.signature(using: claims.key.secret),
            constantTimeEqual(expected, claims.signature)
        else { throw RequestAuthenticator.failed }
        return claims.partner
    }

    static let challenge = [(name: "WWW-Authenticate", value: CanonicalRequest.scheme)]

    static let missing = APIError(
        status: 401,
        code: .authenticationMissing,
        message: "sign the request: \(CanonicalRequest.Field.partner), \(CanonicalRequest.Field.keyID), "
            + "\(CanonicalRequest.Field.timestamp) (YYYY-MM-DDTHH:MM:SSZ) and \(CanonicalRequest.Field.signature) "
            + "(64 hex digits) are required",
        headers: challenge
    )

    /// One answer for an unknown partner, an unknown or retired key and a wrong signature:
    /// which of them it was would help only an attacker.
    static let failed = APIError(
        status: 401,
        code: .authenticationFailed,
        message: "the request's signature could not be verified",
        headers: challenge
    )
}
