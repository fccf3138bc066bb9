import CoalitionKit
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Takes settlement files into the ledger the way an operator's inbox does: verify, apply,
/// file the original under archive/ or rejected/ (with a reason file beside it), and leave
/// the acknowledgement in outbox/.
struct FileIntake {
    let data: DataDirectory
    let ledger: Ledger
    var now: Timestamp
    var showProgress: Bool

    struct Report {
        let name: String
        let result: IngestResult
        let filedAt: String
    }

    /// Processes `path`; moves it when `move` is true, copies it otherwise.
    func process(_ path: String, move: Bool) throws -> Report {
        var ingestor = Ingestor(ledger: ledger, now: now) { try data.keyRing(for: $0) }
        let name = (path as NSString).lastPathComponent
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0
        var progress = ProgressLine(label: name, total: size, enabled: showProgress && size > 4 << 20)
        ingestor.progress = { progress.update($0) }
        let result = try ingestor.ingest(path: path, outbox: data.path("outbox"))
        progress.finish()
        let folder: String
        if case .rejected = result.status { folder = "rejected" } else { folder = "archive" }
        let destination = try FileIntake.file(path, into: data.path(folder), move: move, once: folder == "archive")
        if case .rejected(let error) = result.status {
            // Escaped: the name and the message may carry bytes of a file no one has
            // authenticated, control characters included.
            try FileIntake.writeReason(error, name: name, at: now, to: destination + ".reason")
        }
        return Report(name: name, result: result, filedAt: destination)
    }

    /// Files `path` under `folder` atomically, and returns where: under its own name, or
    /// `name.1`, `name.2`, … when that is taken by other bytes (nothing filed is ever
    /// overwritten). With `once`, a file whose bytes are already filed there under one of
    /// those names is not filed again (a replay, or the rerun after a crash between filing
    /// and the end of the command).
    ///
    /// A move is a `link` and an `unlink` (never a half file, never an overwrite); a copy
    /// goes to a hidden temporary name, is synced, then linked into place. The folder is
    /// synced, so the name survives a power cut.
    static func file(_ path: String, into folder: String, move: Bool, once: Bool) throws -> String {
        let name = (path as NSString).lastPathComponent
        let target = (folder as NSString).appendingPathComponent(name)
        func failure(_ what: String) -> CoalitionError {
            CoalitionError(
                .io,
                "cannot file \(name) under \((folder as NSString).lastPathComponent)/: \(what): "
                    + String(cString: strerror(errno)),
                at: Place(file: path)
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
        guard input >= 0 else { throw CoalitionError(.io, "cannot read the file to file it", at: Place(file: path)) }
        defer { close(input) }
        let output = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw CoalitionError(.io, "cannot create the copy", at: Place(file: copy)) }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var copied: Int64 = 0
        while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else {
                throw CoalitionError(.io, "cannot read the file to file it", at: Place(file: path))
            }
            if count == 0 { break }
            var written = 0
            while written < count {
                let n = buffer.withUnsafeBytes { write(output, $0.baseAddress! + written, count - written) }
                guard n > 0 else { throw CoalitionError(.io, "cannot write the copy", at: Place(file: copy)) }
                written += n
            }
            copied += Int64(count)
            if copied >= 1 << 20 { try Failpoint.reach("archive.mid-copy") }
        }
        guard fsync(output) == 0 else { throw CoalitionError(.io, "cannot sync the copy", at: Place(file: copy)) }
    }

    /// Writes the `.reason` file of a rejected file.
    static func writeReason(_ error: CoalitionError, name: String, at now: Timestamp, to path: String) throws {
        let reason = """
            file: \(Untrusted.escaped(name, keepingNewlines: false))
            rejected-at: \(now)
            code: \(error.code)
            message: \(Untrusted.escaped(error.message, keepingNewlines: false))
            place: \(error.place.line.map { "line \($0)" } ?? "whole file")

            """
        try writeAtomically(Data(reason.utf8), to: path)
    }

    /// Moves `path`, which is not a regular file (a directory, FIFO, socket, device or
    /// symbolic link), out of the inbox into `rejected/` with a reason, without opening it.
    func setAside(_ path: String, because error: CoalitionError) throws -> Report {
        let name = (path as NSString).lastPathComponent
        let target = data.path("rejected", name)
        var candidate = target
        var n = 0
        // rename(2) replaces what is there: look first (one writer at a time holds the lock).
        while (try? FileManager.default.attributesOfItem(atPath: candidate)) != nil
            || FileManager.default.fileExists(atPath: candidate + ".reason")
        {
            n += 1
            candidate = "\(target).\(n)"
        }
        guard rename(path, candidate) == 0 else {
            throw CoalitionError(
                .io,
                "cannot move \(Untrusted.escaped(name)) aside to rejected/: \(String(cString: strerror(errno)))",
                at: Place(file: path)
            )
        }
        try FileIntake.writeReason(error, name: name, at: now, to: candidate + ".reason")
        FileIntake.syncDirectory(data.path("rejected"))
        return Report(name: name, result: IngestResult(status: .rejected(error)), filedAt: candidate)
    }

    /// Writes `data` to `path` through a synced temporary file and a rename. The file is
    /// 0644 exactly: never wider, whatever the umask.
    static func writeAtomically(_ data: Data, to path: String) throws {
        let temporary = TemporaryPath.beside(path)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else { throw CoalitionError(.io, "cannot create the file", at: Place(file: path)) }
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fchmod(descriptor, 0o644) == 0 && fsync(descriptor) == 0
        close(descriptor)
        guard written == data.count, synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw CoalitionError(.io, "cannot write the file", at: Place(file: path))
        }
    }

    /// Syncs a folder, so the names just made in it are on disk.
    static func syncDirectory(_ folder: String) {
        let descriptor = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }

    /// `path`, or `path.1`, `path.2`, … when it is taken: nothing filed is ever overwritten.
    static func uniquePath(_ path: String) -> String {
        var candidate = path
        var n = 0
        while FileManager.default.fileExists(atPath: candidate) {
            n += 1
            candidate = "\(path).\(n)"
        }
        return candidate
    }

    /// One line per file, as `ingest` and `submit` print it.
    static func describe(_ report: Report) -> String {
        switch report.result.status {
        case .accepted:
            let s = report.result.summary!
            return "\(report.name): accepted, \(s.records) records: \(s.accepted) applied, \(s.rejected) rejected"
        case .duplicate:
            return "\(report.name): duplicate of batch \(report.result.header!.sequence), nothing applied; "
                + "the original acknowledgement was sent again"
        case .rejected(let error):
            return "\(report.name): REJECTED \(error)"
        }
    }

    static func json(_ report: Report) -> [String: Any] {
        var object: [String: Any] = ["file": report.name, "filedAt": report.filedAt]
        switch report.result.status {
        case .accepted: object["status"] = "accepted"
        case .duplicate: object["status"] = "duplicate"
        case .rejected(let error):
            object["status"] = "rejected"
            object["code"] = error.code.rawValue
            object["message"] = error.message
            if let line = error.place.line { object["line"] = line }
        }
        if let header = report.result.header {
            object["partner"] = header.partner.rawValue
            object["sequence"] = header.sequence
        }
        if let s = report.result.summary {
            object["records"] = s.records
            object["accepted"] = s.accepted
            object["rejected"] = s.rejected
        }
        if let ack = report.result.acknowledgement { object["acknowledgement"] = ack }
        return object
    }
}

/// Progress of a large file on a terminal: records done as bytes, rate, percentage.
struct ProgressLine {
    let label: String
    let total: Int64
    let enabled: Bool
    private var started = Date()
    private var lastShown = Date.distantPast

    init(label: String, total: Int64, enabled: Bool) {
        self.label = label
        self.total = total
        self.enabled = enabled && isatty(2) != 0
    }

    mutating func update(_ bytes: Int64) {
        guard enabled, Date().timeIntervalSince(lastShown) > 0.25 else { return }
        lastShown = Date()
        let seconds = max(0.001, Date().timeIntervalSince(started))
        let percent = total > 0 ? bytes * 100 / total : 0
        let rate = Int64(Double(bytes) / seconds / 1_048_576)
        FileHandle.standardError.write(Data("\r\(label): \(percent)% (\(bytes >> 20) MiB, \(rate) MiB/s)   ".utf8))
    }

    func finish() {
        if enabled && lastShown != Date.distantPast { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
