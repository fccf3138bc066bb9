import Foundation

/// Reads and writes key files: `#` comment lines and one line of hex, at least 16 bytes.
public enum KeyFile {
    public static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CoalitionError(.badKey, "cannot read the key file", at: Place(file: path))
        }
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

    /// Writes `key` to `path` readable by its owner only (0600), refusing to overwrite.
    public static func write(_ key: [UInt8], to path: String, comment: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw CoalitionError(
                .badKey,
                "a key file already exists here; keys are never overwritten",
                at: Place(file: path)
            )
        }
        let text = Array("# \(comment)\n\(Hex.encode(key))\n".utf8)
        // Created owner-only by open(2) itself (O_EXCL: never over another file), so the
        // secret is at no moment readable by others, whatever the umask.
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw CoalitionError(.io, "cannot create the key file", at: Place(file: path)) }
        defer { close(descriptor) }
        let written = text.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        guard fchmod(descriptor, 0o600) == 0, written == text.count, fsync(descriptor) == 0 else {
            unlink(path)
            throw CoalitionError(.io, "cannot write the key file", at: Place(file: path))
        }
    }
}

/// A partner's keys, with their secrets, as read from the data directory's `keys/`.
public struct KeyRing: Sendable {
    public struct Key: Sendable {
        public let info: KeyInfo
        public let secret: [UInt8]

        package init(info: KeyInfo, secret: [UInt8]) {
            self.info = info
            self.secret = secret
        }
    }

    public let partner: PartnerID
    public let keys: [Key]

    public init(partner: PartnerID, keys: [Key]) {
        self.partner = partner
        self.keys = keys
    }

    /// Loads the secret of each of `partner`'s keys from `directory/<key id>.key`.
    public static func load(_ partner: Partner, directory: String) throws -> KeyRing {
        let keys = try partner.keys.map { info in
            Key(info: info, secret: try KeyFile.read((directory as NSString).appendingPathComponent("\(info.id).key")))
        }
        return KeyRing(partner: partner.id, keys: keys)
    }

    public func key(id: String) -> Key? { keys.first { $0.info.id == id } }

    /// The key to sign with at `time`: the valid key that became valid last.
    public func signingKey(at time: Timestamp) throws -> Key {
        guard let key = keys.filter({ $0.info.isValid(at: time) }).max(by: { $0.info.validFrom < $1.info.validFrom })
        else { throw CoalitionError(.badKey, "\(partner) has no key valid at \(time)") }
        return key
    }
}
