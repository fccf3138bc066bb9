import CoalitionKit
import Foundation

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
        let destination = FileIntake.uniquePath(data.path(folder, name))
        let fileManager = FileManager.default
        do {
            if move {
                try fileManager.moveItem(atPath: path, toPath: destination)
            } else {
                try fileManager.copyItem(atPath: path, toPath: destination)
            }
        } catch {
            throw CoalitionError(
                .io,
                "cannot file \(name) under \(folder)/: \(error.localizedDescription)",
                at: Place(file: path)
            )
        }
        if case .rejected(let error) = result.status {
            let reason = """
                file: \(name)
                rejected-at: \(now)
                code: \(error.code)
                message: \(error.message)
                place: \(error.place.line.map { "line \($0)" } ?? "whole file")

                """
            _ = fileManager.createFile(atPath: destination + ".reason", contents: Data(reason.utf8))
        }
        return Report(name: name, result: result, filedAt: destination)
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
