import CoalitionKit
import Foundation

/// A small owner-only JSON file changed by read-modify-write under an exclusive `flock`:
/// `FOLDER/NAME.json` (0600, in a 0700 folder), locked through `FOLDER/NAME.lock`, written
/// to a temporary file, flushed and renamed over the old one, so two processes (the CLI and
/// `serve`) lose neither's change and a crash leaves the old or the new file whole. What
/// member and operator sign-in keep (`CredentialFile`, `OperatorAccess`).
struct LockedJSONFile<Contents: Codable & Equatable> {
    let folder: String
    let name: String
    var path: String { (folder as NSString).appendingPathComponent(name + ".json") }
    var lockPath: String { (folder as NSString).appendingPathComponent(name + ".lock") }

    /// Runs `change` on the contents (`empty` if there is no file yet) under the lock and
    /// saves them if it changed them; returns the contents as they then stand.
    @discardableResult
    func update(empty: Contents, _ change: (inout Contents) throws -> Void) throws -> Contents {
        try FileManager.default.createDirectory(
            atPath: folder,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else {
            throw CoalitionError(.io, "cannot open the lock \(name).lock", at: Place(file: lockPath))
        }
        defer { close(lock) }
        guard flock(lock, LOCK_EX) == 0 else {
            throw CoalitionError(.io, "cannot lock \(name).json", at: Place(file: lockPath))
        }
        defer { flock(lock, LOCK_UN) }
        var contents = empty
        if let data = FileManager.default.contents(atPath: path) {
            do {
                contents = try JSONDecoder().decode(Contents.self, from: data)
            } catch {
                throw CoalitionError(.io, "\(name).json is not readable JSON", at: Place(file: path))
            }
        }
        let before = contents
        try change(&contents)
        if contents != before { try save(contents) }
        return contents
    }

    private func save(_ contents: Contents) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(contents)
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw CoalitionError(.io, "cannot write \(name).json", at: Place(file: temporary))
        }
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == data.count, synced == 0, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CoalitionError(.io, "cannot write \(name).json", at: Place(file: path))
        }
    }
}
