import CoalitionKit
import Foundation

/// The bytes a partner signs for one API request (`docs/api.md`, "Signing a request").
///
/// Seven lines joined by LF, with no LF after the last:
///
/// ```
/// COALITION-HMAC-SHA256
/// POST
/// /v1/settlement-files
/// 2026-11-22T10:15:00Z
/// SKYWAYS
/// SKYWAYS-2026A
/// <hex SHA-256 of the body>
/// ```
///
/// The first line names the scheme; no settlement file starts with it (every file starts
/// `H|`), so a request's signature can never pass as a file's, nor a file's as a request's,
/// although both are made under the same key.
package struct CanonicalRequest: Sendable, Equatable {
    /// The first line, and the name of the scheme.
    package static let scheme = "COALITION-HMAC-SHA256"

    /// The header fields that carry a request's signature.
    package enum Field {
        package static let partner = "Coalition-Partner"
        package static let keyID = "Coalition-Key-Id"
        package static let timestamp = "Coalition-Timestamp"
        package static let signature = "Coalition-Signature"
    }

    /// How far a request's timestamp may be from the server's clock, either way.
    package static let allowedSkewSeconds: Int64 = 300

    package var method: String
    /// The request-target exactly as sent: path and query, not decoded or reordered.
    package var target: String
    package var timestamp: Timestamp
    package var partner: PartnerID
    package var keyID: String
    /// SHA-256 of the body's bytes (of no bytes when there is no body).
    package var bodyDigest: [UInt8]

    package init(
        method: String,
        target: String,
        timestamp: Timestamp,
        partner: PartnerID,
        keyID: String,
        bodyDigest: [UInt8]
    ) {
        self.method = method
        self.target = target
        self.timestamp = timestamp
        self.partner = partner
        self.keyID = keyID
        self.bodyDigest = bodyDigest
    }

    /// The string to sign.
    package var string: String {
        [
            CanonicalRequest.scheme, method, target, timestamp.description, partner.rawValue, keyID,
            Hex.encode(bodyDigest),
        ]
        .joined(separator: "\n")
    }

    /// HMAC-SHA256 of the string under `secret`.
    package func signature(using secret: [UInt8]) throws -> [UInt8] {
        try HMACSHA256.authenticationCode(for: Array(string.utf8), using: secret)
    }

    /// SHA-256 of a body held in memory.
    package static func digest(of bytes: [UInt8]) -> [UInt8] { SHA256.hash(bytes) }

    /// SHA-256 of the file at `path`, read in pieces (an upload is never in memory whole).
    package static func digest(ofFile path: String) throws -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CoalitionError(.io, "cannot read the request body", at: Place(file: path))
        }
        defer { try? handle.close() }
        let hasher = SHA256()
        while true {
            let chunk: Data?
            do {
                chunk = try handle.read(upToCount: 1 << 20)
            } catch {
                throw CoalitionError(.io, "cannot read the request body", at: Place(file: path))
            }
            guard let chunk, !chunk.isEmpty else { break }
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        return hasher.finish()
    }
}
