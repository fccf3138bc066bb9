import CoalitionKit
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Files a settlement file's original under `archive/` or `rejected/`, and writes the small
/// files that go beside it, so that a crash at any moment leaves either the whole file under
/// its name or nothing: the inbox's and the partner API's one way of filing.
package enum SettlementFiling {
    /// Files `path` under `folder` atomically, and returns where: under its own name, or
    /// `name.1`, `name.2`, … when that is taken by other bytes (nothing filed is ever
    /// overwritten). With `once`, a file whose bytes are already filed there under one of
    /// those names is not filed again (a replay, or the rerun after a crash between filing
    /// and the end of the command).
    ///
    /// A move is a `link` and an `unlink` (never a half file, never an overwrite); a copy
    /// goes to a hidden temporary name, is synced, then linked into place. The folder is
    /// synced, so the name survives a power cut.
    package static func file(_ path: String, into folder: String, move: Bool, once: Bool) throws -> String {
        let name = (path as NSString).lastPathComponent
        let target = (folder as NSString).appendingPathComponent(name)
        func failure(_ call: String) -> CoalitionError {
            CoalitionError.io(
                "cannot file \(name) under \((folder as NSString).lastPathComponent)/",
                call: call,
                path: path
            )
        }
        var source = path
        var temporary: String?
        defer { if let temporary { unlink(temporary) } }
        if once, let filed = sameBytesFiled(path, as: target) {
            if move { unlink(path) }
            return filed
        }
        if !move || !canLink(path, into: folder) {
            let copy = TemporaryPath.beside(target)
            temporary = copy
            try copyAndSync(path, to: copy)
            source = copy
        }
        var n = 0
        var candidate = target
        while link(source, candidate) != 0 {
            guard errno == EEXIST else { throw failure("link") }
            n += 1
            candidate = "\(target).\(n)"
        }
        if move { unlink(path) }
        syncDirectory(folder)
        return candidate
    }

    /// Whether `path` and `folder` are on one file system (a hard link can join them).
    private static func canLink(_ path: String, into folder: String) -> Bool {
        var a = stat()
        var b = stat()
        return stat(path, &a) == 0 && stat(folder, &b) == 0 && a.st_dev == b.st_dev
    }

    /// `target` or `target.N` when one of them holds exactly the bytes of `path`.
    private static func sameBytesFiled(_ path: String, as target: String) -> String? {
        guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int64 else {
            return nil
        }
        var candidate = target
        var n = 0
        while FileManager.default.fileExists(atPath: candidate) {
            let other = (try? FileManager.default.attributesOfItem(atPath: candidate))?[.size] as? Int64
            if other == size && FileManager.default.contentsEqual(atPath: path, andPath: candidate) {
                return candidate
            }
            n += 1
            candidate = "\(target).\(n)"
        }
        return nil
    }

    /// Copies `path` to the new file `copy`, and syncs it.
    private static func copyAndSync(_ path: String, to copy: String) throws {
        let input = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard input >= 0 else { throw CoalitionError.io("cannot read the file to file it", call: "open", path: path) }
        defer { close(input) }
        let output = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw CoalitionError.io("cannot create the copy", call: "open", path: copy) }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var copied: Int64 = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else {
                throw CoalitionError.io("cannot read the file to file it", call: "read", path: path)
            }
            if count == 0 { break }
            var written = 0
            while written < count {
                let n = buffer.withUnsafeBytes { write(output, $0.baseAddress! + written, count - written) }
                guard n > 0 else { throw CoalitionError.io("cannot write the copy", call: "write", path: copy) }
                written += n
            }
            copied += Int64(count)
            if copied >= 1 << 20 { try Failpoint.reach("archive.mid-copy") }
        }
        guard fsync(output) == 0 else { throw CoalitionError.io("cannot sync the copy", call: "fsync", path: copy) }
    }

    /// Writes the `.reason` file of a rejected file.
    package static func writeReason(_ error: CoalitionError, name: String, at now: Timestamp, to path: String) throws {
        let reason = """
            file: \(Untrusted.escaped(name, keepingNewlines: false))
            rejected-at: \(now)
            code: \(error.code)
            message: \(Untrusted.escaped(error.message, keepingNewlines: false))
            place: \(error.place.line.map { "line \($0)" } ?? "whole file")

            """
        try writeAtomically(Data(reason.utf8), to: path)
    }

    /// A file refused whole, as its `.reason` file in `rejected/` tells it.
    package struct RejectedFile: Sendable, Equatable {
        /// The name the file arrived under.
        package let file: String
        package let rejectedAt: Timestamp
        package let code: String
        package let message: String
        /// `line N`, or `whole file`.
        package let place: String
        /// The partner and batch number its header names, when the header can be read.
        package let partner: PartnerID?
        package let sequence: Int64?
    }

    /// Every file refused whole in `folder` (`DIR/rejected/`), read back from the `.reason`
    /// files `writeReason` wrote, in name order; a `.reason` file that cannot be read or
    /// lacks a field is skipped.
    package static func rejectedFiles(in folder: String) -> [RejectedFile] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        var files: [RejectedFile] = []
        for name in names.sorted() where name.hasSuffix(".reason") {
            guard let text = try? String(contentsOfFile: folder + "/" + name, encoding: .utf8) else { continue }
            var fields: [String: String] = [:]
            for line in text.split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            guard let file = fields["file"], let at = fields["rejected-at"].flatMap({ try? Timestamp(parsing: $0) }),
                let code = fields["code"]
            else { continue }
            let header = header(of: folder + "/" + String(name.dropLast(".reason".count)))
            files.append(
                RejectedFile(
                    file: file,
                    rejectedAt: at,
                    code: code,
                    message: fields["message"] ?? "",
                    place: fields["place"] ?? "",
                    partner: header?.partner,
                    sequence: header?.sequence
                )
            )
        }
        return files
    }

    /// The header of the settlement file at `path`, if its first line is one.
    static func header(of path: String) -> FileHeader? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        let start = [UInt8](handle.readData(ofLength: SettlementFormat.maximumLineLength + 1))
        let end = start.firstIndex(of: SettlementFormat.newline) ?? start.count
        return try? FileHeader(line: start[0..<end], expecting: Set(FileKind.allCases))
    }

    /// Writes `data` to `path` through a synced temporary file and a rename. The file is
    /// 0644 exactly: never wider, whatever the umask.
    package static func writeAtomically(_ data: Data, to path: String) throws {
        let temporary = TemporaryPath.beside(path)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw CoalitionError.io("cannot create the file", call: "open", path: path) }
        var failed: CoalitionError?
        if data.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) != data.count {
            failed = .io("cannot write the file", call: "write", path: path)
        } else if fchmod(descriptor, 0o644) != 0 {
            failed = .io("cannot write the file", call: "fchmod", path: path)
        } else if fsync(descriptor) != 0 {
            failed = .io("cannot write the file", call: "fsync", path: path)
        }
        close(descriptor)
        if failed == nil && renameFile(temporary, path) != 0 {
            failed = .io("cannot write the file", call: "rename", path: path)
        }
        if let failed {
            unlink(temporary)
            throw failed
        }
    }

    /// Syncs a folder, so the names just made in it are on disk.
    package static func syncDirectory(_ folder: String) {
        let descriptor = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }
}
