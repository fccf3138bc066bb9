import CoalitionKit
import Foundation

/// Where member sign-in keeps what it must remember: `DIR/access/members.json`, owner-only
/// (0600, in a 0700 folder), apart from the ledger (see `docs/members.md` for why).
///
/// Holds per member the hash of a pending activation code and the password's PBKDF2 hash,
/// and per session the SHA-256 of its token: nothing in it signs anyone in by itself. Every
/// change is a read-modify-write under an exclusive `flock` on `members.lock`, written to a
/// temporary file, flushed and renamed over the old one, so the CLI issuing a code while
/// `serve` runs loses neither's change, and a crash leaves the old or the new file whole.
public struct CredentialFile: Sendable {
    /// What the file holds.
    public struct Contents: Codable, Sendable, Equatable {
        public var members: [String: Credential] = [:]
        /// Sessions by the hex SHA-256 of their token.
        public var sessions: [String: Session] = [:]
    }

    public struct Credential: Codable, Sendable, Equatable {
        /// Hex SHA-256 of the pending one-time activation code, and when it lapses.
        public var activationCodeHash: String?
        public var activationExpiresAt: Int64?
        /// `pbkdf2-sha256$ITERATIONS$SALT_HEX$HASH_HEX`, once a password was set.
        public var password: String?
        public var passwordSetAt: Int64?
    }

    public struct Session: Codable, Sendable, Equatable {
        public var member: String
        public var createdAt: Int64
        public var expiresAt: Int64
    }

    public let folder: String
    var path: String { (folder as NSString).appendingPathComponent("members.json") }
    var lockPath: String { (folder as NSString).appendingPathComponent("members.lock") }

    /// The file in `DIR/access` of the data directory at `dataDirectory`.
    public init(dataDirectory: String) {
        folder = (dataDirectory as NSString).appendingPathComponent("access")
    }

    /// The contents as they stand.
    public func read() throws -> Contents { try update { _ in } }

    /// Runs `change` on the contents under the lock and saves them if it changed them;
    /// returns the contents as they then stand.
    @discardableResult
    public func update(_ change: (inout Contents) throws -> Void) throws -> Contents {
        try LockedJSONFile<Contents>(folder: folder, name: "members").update(empty: Contents(), change)
    }
}
