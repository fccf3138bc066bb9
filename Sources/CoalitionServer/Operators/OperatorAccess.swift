import CoalitionKit
import Foundation
import Synchronization

extension ReasonCode {
    package static let unknownOperatorToken: ReasonCode = "UNKNOWN_OPERATOR_TOKEN"
}

/// Operator sign-in (`docs/operations.md`): tokens made with `coalition operator token
/// create`, each 256 random bits shown once and kept only as its SHA-256 in
/// `DIR/access/operators.json` (owner-only), listed and revoked by their id; a token signs
/// in to the dashboard and makes a session like a member's (a random 256-bit token kept as
/// its hash, expiring, ended by sign-out or by revoking the token that made it). Failed
/// sign-ins are limited per address with the members' limits.
package final class OperatorAccess: Sendable {
    package struct Token: Codable, Sendable, Equatable {
        package var name: String
        package var hash: String
        package var createdAt: Int64
        package var revokedAt: Int64?
    }

    struct Session: Codable, Sendable, Equatable {
        var tokenID: String
        var expiresAt: Int64
    }

    package struct Contents: Codable, Sendable, Equatable {
        /// Tokens by their id (`op-` and 8 hex digits, printed by `list`).
        package var tokens: [String: Token] = [:]
        /// Sessions by the hex SHA-256 of their token.
        var sessions: [String: Session] = [:]
    }

    /// A token as made: its id and the secret (printed once, never stored).
    package struct Made: Sendable {
        package let id: String
        package let secret: String
    }

    package static let sessionSeconds: Int64 = 8 * 3600
    let file: LockedJSONFile<Contents>
    let now: @Sendable () -> Timestamp
    let limits = Mutex(AttemptLimits())
    let policy = MemberAccess.Policy()

    package init(dataDirectory: String, now: @escaping @Sendable () -> Timestamp) {
        file = LockedJSONFile(folder: (dataDirectory as NSString).appendingPathComponent("access"), name: "operators")
        self.now = now
    }

    /// A new token named `name` (who holds it, for the list).
    package func makeToken(name: String) throws -> Made {
        let id = "op-" + Hex.encode(try secureRandomBytes(4))
        let secret = "coalop_" + Hex.encode(try secureRandomBytes(32))
        let at = now().seconds
        try file.update(empty: Contents()) {
            $0.tokens[id] = Token(name: name, hash: MemberAccess.hashHex(secret), createdAt: at, revokedAt: nil)
        }
        return Made(id: id, secret: secret)
    }

    /// The tokens by id, revoked ones too.
    package func tokens() throws -> [(id: String, token: Token)] {
        try file.update(empty: Contents()) { _ in }.tokens.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// Revokes the token `id` and ends every session it made.
    package func revoke(id: String) throws {
        let at = now().seconds
        try file.update(empty: Contents()) { contents in
            guard contents.tokens[id] != nil else {
                throw CoalitionError(
                    .unknownOperatorToken,
                    "no operator token \(id): see `coalition operator token list`"
                )
            }
            if contents.tokens[id]?.revokedAt == nil { contents.tokens[id]?.revokedAt = at }
            contents.sessions = contents.sessions.filter { $0.value.tokenID != id }
        }
    }

    /// A session for a live token; else `SIGN_IN_FAILED`, or `TOO_MANY_ATTEMPTS`.
    func signIn(secret: String, address: String) throws(APIError) -> (token: String, expiresAt: Int64) {
        let host = MemberAccess.host(address)
        let at = now().seconds
        let wait = limits.withLock {
            AttemptLimits.wait($0.addresses, host, limit: policy.memberFailures, window: policy.windowSeconds, at: at)
        }
        if let wait {
            throw APIError(
                status: 429,
                code: .tooManyAttempts,
                message: "too many failed attempts: try again in \(wait) s",
                headers: [("Retry-After", String(wait))]
            )
        }
        let hash = MemberAccess.hashHex(secret)
        do {
            let session = Hex.encode(try secureRandomBytes(32))
            var made = false
            try file.update(empty: Contents()) { contents in
                contents.sessions = contents.sessions.filter { $0.value.expiresAt > at }
                // Every token's hash is compared, in constant time each.
                var found: String?
                for (id, token) in contents.tokens
                where constantTimeEqual(Array(token.hash.utf8), Array(hash.utf8)) && token.revokedAt == nil {
                    found = id
                }
                guard let found else { return }
                contents.sessions[MemberAccess.hashHex(session)] = Session(
                    tokenID: found,
                    expiresAt: at + Self.sessionSeconds
                )
                made = true
            }
            if made { return (session, at + Self.sessionSeconds) }
        } catch {
            throw APIError.from(error)
        }
        limits.withLock { AttemptLimits.add(&$0.addresses, host, window: policy.windowSeconds, at: at) }
        throw APIError(status: 401, code: .signInFailed, message: "this operator token is not valid")
    }

    /// The id of the token whose unexpired session `session` is, or nil.
    func tokenID(session: String) -> String? {
        guard session.utf8.count == 64, let contents = try? file.update(empty: Contents(), { _ in }),
            let found = contents.sessions[MemberAccess.hashHex(session)], found.expiresAt > now().seconds,
            contents.tokens[found.tokenID]?.revokedAt == nil
        else { return nil }
        return found.tokenID
    }

    func signOut(session: String) {
        let key = MemberAccess.hashHex(session)
        _ = try? file.update(empty: Contents()) { $0.sessions[key] = nil }
    }
}
