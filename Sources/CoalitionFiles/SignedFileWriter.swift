import CoalitionKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file of the settlement family line by line through a buffer, feeding every byte
/// to the HMAC as it goes, and closes it with the signature line `S|<hex>`.
package final class SignedFileWriter {
    package let path: String
    private var descriptor: Int32
    private let mac: HMACSHA256?
    private var buffer: [UInt8] = []
    private static let flushSize = 1 << 16

    /// Creates (or truncates) `path`. Without a key the file is left unsigned, for
    /// `coalition sign` to finish.
    package init(path: String, key: [UInt8]?, mode: mode_t = 0o644) throws {
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            throw CoalitionError.io("cannot create the file", call: "open", path: path)
        }
        self.path = path
        mac = try key.map { try HMACSHA256(key: $0) }
        buffer.reserveCapacity(SignedFileWriter.flushSize + 2048)
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// Appends `text` and a LF.
    package func line(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        buffer.append(SettlementFormat.newline)
        if buffer.count >= SignedFileWriter.flushSize { try flush() }
    }

    /// Appends raw bytes (whole lines, with their LFs).
    package func append(_ bytes: UnsafeBufferPointer<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= SignedFileWriter.flushSize { try flush() }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { bytes in
            mac?.update(bytes)
            var written = 0
            while written < bytes.count {
                let n = write(descriptor, bytes.baseAddress! + written, bytes.count - written)
                guard n > 0 else {
                    throw CoalitionError.io("cannot write the file", call: "write", path: path)
                }
                written += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes the signature line (when keyed), syncs and closes the file; returns the
    /// signature (empty when unsigned).
    @discardableResult
    package func finish() throws -> [UInt8] {
        try flush()
        var signature: [UInt8] = []
        if let mac {
            signature = mac.finish()
            buffer.append(contentsOf: "S|\(Hex.encode(signature))\n".utf8)
            try buffer.withUnsafeBytes { bytes in
                guard write(descriptor, bytes.baseAddress!, bytes.count) == bytes.count else {
                    throw CoalitionError.io("cannot write the signature line", call: "write", path: path)
                }
            }
            buffer.removeAll()
        }
        try Failpoint.reach("file.fsync")
        guard fsync(descriptor) == 0 else {
            throw CoalitionError.io("cannot sync the file", call: "fsync", path: path)
        }
        close(descriptor)
        descriptor = -1
        return signature
    }

    /// Moves a finished file into place atomically.
    package static func rename(_ from: String, to path: String) throws {
        guard renameFile(from, path) == 0 else {
            throw CoalitionError.io("cannot move the file into place", call: "rename", path: path)
        }
    }

    /// Closes and deletes the file: for a file abandoned half-written.
    package func discard() {
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
        unlink(path)
    }
}

/// Appends text to the end of an existing file, synced.
final class AppendingWriter {
    private let descriptor: Int32
    let path: String

    init(path: String) throws {
        descriptor = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw CoalitionError.io("cannot open the file to append", call: "open", path: path)
        }
        self.path = path
    }

    deinit { close(descriptor) }

    func append(_ text: String) throws {
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress!, $0.count) }
        guard written == bytes.count else {
            throw CoalitionError.io("cannot append to the file", call: "write", path: path)
        }
        guard fsync(descriptor) == 0 else {
            throw CoalitionError.io("cannot sync the file", call: "fsync", path: path)
        }
    }
}
