import CoalitionFiles
import CoalitionKit
import Foundation

/// A key file named on the command line (`--key KEYFILE`), with the id of the key it holds:
/// `--key-id ID`, else the file's name without `.key` (as `keys/<key id>.key` are named).
struct GivenKey {
    let path: String
    let id: String
    let secret: [UInt8]

    static let options: [OptionSpec] = [
        .value("key", "KEYFILE", "the key file: # comments and one line of hex"),
        .value("key-id", "ID", "the id of the key in KEYFILE (default: its file name without .key)"),
    ]

    init(_ context: Context, path: String) throws {
        self.path = path
        let name = (path as NSString).lastPathComponent
        id = context.arguments.value("key-id") ?? (name.hasSuffix(".key") ? String(name.dropLast(4)) : name)
        secret = try KeyFile.read(path)
    }

    /// `KEY_MISMATCH` unless this is the key `header` names.
    func check(against header: FileHeader, file: String, hint: String) throws {
        guard header.keyID != id else { return }
        throw CoalitionError(
            .keyMismatch,
            "the header names key \(header.keyID), but the key file \(path) holds key \(id): \(hint)",
            at: Place(file: file, line: 1, field: "key id")
        )
    }

    /// The header of the file at `path`, of any kind.
    static func header(of path: String) throws -> FileHeader {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CoalitionError(.io, "cannot read the file", at: Place(file: path))
        }
        defer { try? handle.close() }
        let start = [UInt8](handle.readData(ofLength: SettlementFormat.maximumLineLength + 1))
        guard !start.isEmpty else { throw CoalitionError(.emptyFile, "the file is empty", at: Place(file: path)) }
        let end = start.firstIndex(of: SettlementFormat.newline) ?? start.count
        return try at(Place(file: path)) { try FileHeader(line: start[0..<end], expecting: Set(FileKind.allCases)) }
    }

    /// Whether the file's last line is a signature line (`S|` and 64 hex digits).
    static func isSigned(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > 80 ? size - 80 : 0)
        let tail = [UInt8](handle.readData(ofLength: 80))
        guard tail.last == SettlementFormat.newline else { return false }
        let body = tail.dropLast()
        let start = body.lastIndex(of: SettlementFormat.newline).map { body.index(after: $0) } ?? body.startIndex
        return body[start...].starts(with: Array("S|".utf8))
    }

    /// Rewrites the key id, the last field of the header of the unsigned file at `path`, to
    /// `keyID`, streaming the rest of the file through unchanged into a file renamed over it.
    static func rehead(_ path: String, keyID: String) throws {
        guard let input = FileHandle(forReadingAtPath: path) else {
            throw CoalitionError(.io, "cannot read the file", at: Place(file: path))
        }
        defer { try? input.close() }
        let start = [UInt8](input.readData(ofLength: SettlementFormat.maximumLineLength + 1))
        guard let end = start.firstIndex(of: SettlementFormat.newline),
            let bar = start[..<end].lastIndex(of: SettlementFormat.separator)
        else { throw CoalitionError(.badHeader, "the first line does not end", at: Place(file: path, line: 1)) }
        let temporary = path + ".rehead"
        guard FileManager.default.createFile(atPath: temporary, contents: nil),
            let output = FileHandle(forWritingAtPath: temporary)
        else { throw CoalitionError(.io, "cannot write beside the file", at: Place(file: temporary)) }
        do {
            defer { try? output.close() }
            try output.write(contentsOf: Data(start[...bar]) + Data(keyID.utf8) + Data(start[end...]))
            while true {
                let chunk = input.readData(ofLength: 1 << 20)
                if chunk.isEmpty { break }
                try output.write(contentsOf: chunk)
            }
            try output.synchronize()
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw CoalitionError(.io, "cannot write beside the file", at: Place(file: temporary))
        }
        guard rename(temporary, path) == 0 else {
            throw CoalitionError(.io, "cannot replace the file", at: Place(file: path))
        }
    }
}
