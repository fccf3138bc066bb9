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
package struct CredentialFile: Sendable {
    /// What the file holds.
    package struct Contents: Codable, Sendable, Equatable {
        package var members: [String: Credential] = [:]
        /// Sessions by the hex SHA-256 of their token.
        package var sessions: [String: Session] = [:]
    }

    package struct Credential: Codable, Sendable, Equatable {
        /// Hex SHA-256 of the pending one-time activation code, and when it lapses.
        package var activationCodeHash: String?
        package var activationExpiresAt: Int64?
        /// `pbkdf2-sha256$ITERATIONS$SALT_HEX$HASH_HEX`, once a password was set.
        package var password: String?
        package var passwordSetAt: Int64?
    }

    package struct Session: Codable, Sendable, Equatable {
        package var member: String
        package var createdAt: Int64
        package var expiresAt: Int64
    }

    package let folder: String
    var path: String { (folder as NSString).appendingPathComponent("members.json") }
    var lockPath: String { (folder as NSString).appendingPathComponent("members.lock") }

    /// The file in `DIR/access` of the data directory at `dataDirectory`.
    package init(dataDirectory: String) {
        folder = (dataDirectory as NSString).appendingPathComponent("access")
    }

    /// The contents as they stand.
    package func read() throws -> Contents { try update { _ in } }

    /// Runs `change` on the contents under the lock and saves them if it changed them;
    /// returns the contents as they then stand.
    @discardableResult
    package func update(_ change: (inout Contents) throws -> Void) throws -> Contents {
        try LockedJSONFile<Contents>(folder: folder, name: "members").update(empty: Contents(), change)
    }
}
