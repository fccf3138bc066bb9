// Shared by the file fuzz targets: the test key, a scratch file, and the invariants every
// reader of a signed file must keep. Built only by `.ci/fuzz` (COALITION_FUZZ=1).
import CoalitionKit
import Foundation

package enum SignedFileFuzzing {
    /// The key every fuzz input is checked (and, in signing mode, signed) under: the published
    /// test key of docs/settlement-format.md §13 is not needed, any fixed key does.
    package static let key: [UInt8] = Array("coalition-fuzz-test-key-not-a-secret".utf8)

    /// A scratch file of this process, rewritten for every input (in memory where /dev/shm is).
    static let path: String = {
        let folder = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        return folder + "/coalition-fuzz-\(getpid()).csf"
    }()

    /// Writes `bytes` to the scratch file; returns its path.
    package static func write(_ bytes: [UInt8]) -> String {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { fail("cannot open the scratch file \(path)") }
        defer { close(descriptor) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            guard written > 0 else { fail("cannot write the scratch file \(path)") }
            offset += written
        }
        return path
    }

    /// `S|<HMAC-SHA256 of body under key>\n`: what signs `body` (which should end with LF).
    package static func signatureLine(for body: [UInt8]) -> [UInt8] {
        Array("S|\(Hex.encode(mac(body)))\n".utf8)
    }

    /// Traps unless `file` ends with a signature line that is the MAC of every byte before it.
    package static func checkSigned(_ file: [UInt8]) {
        var end = file.endIndex
        if file.last == SettlementFormat.newline { end -= 1 }
        guard let start = file[..<end].lastIndex(of: SettlementFormat.newline) else {
            fail("an accepted file has no line before its signature")
        }
        let last = Array(file[(start + 1)..<end])
        let expected = Array("S|\(Hex.encode(mac(Array(file[...start]))))".utf8)
        guard last == expected else { fail("an accepted file's last line is not the MAC of the bytes before it") }
    }

    /// Traps unless `header`'s canonical line parses back to `header`.
    package static func checkHeaderRoundTrip(_ header: FileHeader, kinds: Set<FileKind>) {
        guard let again = try? FileHeader(line: ArraySlice(header.line.utf8), expecting: kinds), again == header
        else { fail("header \(header.line) does not parse back to itself") }
    }

    /// Reports a broken invariant: libFuzzer saves the input that did it.
    package static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("invariant broken: \(message)\n".utf8))
        abort()
    }

    static func mac(_ bytes: [UInt8]) -> [UInt8] {
        guard let mac = try? HMACSHA256(key: key) else { fail("HMAC cannot start") }
        mac.update(bytes)
        return mac.finish()
    }
}
