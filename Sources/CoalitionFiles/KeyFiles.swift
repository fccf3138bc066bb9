import CoalitionKit
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension KeyFile {
    package static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CoalitionError(.badKey, "cannot read the key file", at: Place(file: path))
        }
        return try parse(data, path: path)
    }

    /// Writes `key` to `path` readable by its owner only (0600), refusing to overwrite.
    package static func write(_ key: [UInt8], to path: String, comment: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw CoalitionError(
                .badKey,
                "a key file already exists here; keys are never overwritten",
                at: Place(file: path)
            )
        }
        let text = Array(text(of: key, comment: comment).utf8)
        // Created owner-only by open(2) itself (O_EXCL: never over another file), so the
        // secret is at no moment readable by others, whatever the umask.
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw CoalitionError.io("cannot create the key file", call: "open", path: path) }
        defer { close(descriptor) }
        var failed: CoalitionError?
        if fchmod(descriptor, 0o600) != 0 {
            failed = .io("cannot write the key file", call: "fchmod", path: path)
        } else if text.withUnsafeBytes({ writeBytes(descriptor, $0.baseAddress, $0.count) }) != text.count {
            failed = .io("cannot write the key file", call: "write", path: path)
        } else if fsync(descriptor) != 0 {
            failed = .io("cannot write the key file", call: "fsync", path: path)
        }
        if let failed {
            unlink(path)
            throw failed
        }
    }
}

extension KeyRing {
    /// Loads the secret of each of `partner`'s keys from `directory/<key id>.key`.
    package static func load(_ partner: Partner, directory: String) throws -> KeyRing {
        let keys = try partner.keys.map { info in
            Key(info: info, secret: try KeyFile.read((directory as NSString).appendingPathComponent("\(info.id).key")))
        }
        return KeyRing(partner: partner.id, keys: keys)
    }
}
