import Foundation

/// Key files: `#` comment lines and one line of hex, at least 16 bytes. `CoalitionFiles`
/// reads and writes them.
package enum KeyFile {
    /// The key in the bytes of the key file at `path` (named in a fault).
    package static func parse(_ data: Data, path: String) throws -> [UInt8] {
        let text = String(decoding: data, as: UTF8.self)
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let hexLines = lines.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard hexLines.count == 1, let key = Hex.decode(hexLines[0].utf8), key.count >= 16 else {
            throw CoalitionError(
                .badKey,
                "a key file holds one line of hex (at least 32 hex digits) besides # comments",
                at: Place(file: path)
            )
        }
        return key
    }

    /// The text of a key file holding `key`.
    package static func text(of key: [UInt8], comment: String) -> String {
        "# \(comment)\n\(Hex.encode(key))\n"
    }
}

/// A partner's keys, with their secrets, as read from the data directory's `keys/`.
package struct KeyRing: Sendable {
    package struct Key: Sendable {
        package let info: KeyInfo
        package let secret: [UInt8]

        package init(info: KeyInfo, secret: [UInt8]) {
            self.info = info
            self.secret = secret
        }
    }

    package let partner: PartnerID
    package let keys: [Key]

    package init(partner: PartnerID, keys: [Key]) {
        self.partner = partner
        self.keys = keys
    }

    package func key(id: String) -> Key? { keys.first { $0.info.id == id } }

    /// The key to sign with at `time`: the valid key that became valid last.
    package func signingKey(at time: Timestamp) throws -> Key {
        guard let key = keys.filter({ $0.info.isValid(at: time) }).max(by: { $0.info.validFrom < $1.info.validFrom })
        else { throw CoalitionError(.badKey, "\(partner) has no key valid at \(time)") }
        return key
    }
}
