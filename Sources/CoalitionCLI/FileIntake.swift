import CoalitionFiles
import CoalitionKit
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Takes settlement files into the ledger from the command line: the data directory's
/// folders for `SettlementIntake` (shared with the server), with progress on a terminal.
struct FileIntake {
    let data: DataDirectory
    let ledger: Ledger
    var now: Timestamp
    var showProgress: Bool

    typealias Report = SettlementIntake.Report

    /// Processes `path`; moves it when `move` is true, copies it otherwise. `position` is
    /// the file's place in the run (`file 3 of 22`), shown with its progress.
    func process(_ path: String, move: Bool, position: (Int, Int)? = nil) throws -> Report {
        var intake = SettlementIntake(
            ledger: ledger,
            now: now,
            outbox: data.path("outbox"),
            archive: data.path("archive"),
            rejected: data.path("rejected")
        ) { try data.keyRing(for: $0) }
        let name = (path as NSString).lastPathComponent
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0
        let label = name + (position.map { " (file \($0.0) of \($0.1))" } ?? "")
        var progress = ProgressLine(label: label, enabled: showProgress)
        let started = Date()
        intake.progress = { bytes in
            let seconds = max(0.001, Date().timeIntervalSince(started))
            let rate = Int64(Double(bytes) / seconds / 1_048_576)
            let percent = size > 0 ? min(100, bytes * 100 / size) : 0
            progress.show(
                "\(percent)% (\(Points.grouped(bytes >> 10)) of \(Points.grouped(size >> 10)) KiB, \(rate) MiB/s)",
                isComplete: bytes >= size
            )
        }
        let report = try intake.process(path, filing: move ? .move : .copy)
        progress.finish()
        return report
    }

    /// `path`, or `path.1`, `path.2`, … when it is taken: nothing filed is ever overwritten.
    static func uniquePath(_ path: String) -> String { SettlementIntake.uniquePath(path) }

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
        try SettlementFiling.writeReason(error, name: name, at: now, to: candidate + ".reason")
        SettlementFiling.syncDirectory(data.path("rejected"))
        return Report(name: name, result: IngestResult(status: .rejected(error)), filedAt: candidate)
    }

    /// Writes `data` to `path` through a synced temporary file and a rename, 0644 exactly.
    static func writeAtomically(_ data: Data, to path: String) throws {
        try SettlementFiling.writeAtomically(data, to: path)
    }

    /// The line after several files: how many were accepted, duplicates, rejected, and their
    /// records.
    static func total(_ reports: [Report]) -> String {
        var files = (accepted: 0, duplicate: 0, rejected: 0)
        var records = (all: 0, applied: 0, rejected: 0)
        for report in reports {
            switch report.result.status {
            case .accepted:
                files.accepted += 1
                if let s = report.result.summary {
                    records.all += s.records
                    records.applied += s.accepted
                    records.rejected += s.rejected
                }
            case .duplicate: files.duplicate += 1
            case .rejected: files.rejected += 1
            }
        }
        return
            "\(reports.count) files: \(files.accepted) accepted, \(files.duplicate) duplicate, \(files.rejected) rejected; "
            + "\(records.all) records in the accepted files: \(records.applied) applied, \(records.rejected) rejected"
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

    /// A file's outcome as `ingest --json` and `submit --json` print it: where it was filed,
    /// its status, the reason code of a rejection, its batch and record counts, and its
    /// acknowledgement, each key absent where the file has none.
    struct Answer: Encodable {
        let file: String
        let filedAt: String
        let status: String
        var code: String?
        var message: String?
        var line: Int?
        var partner: String?
        var sequence: Int64?
        var records: Int?
        var accepted: Int?
        var rejected: Int?
        let acknowledgement: String?

        init(_ report: Report) {
            file = report.name
            filedAt = report.filedAt
            switch report.result.status {
            case .accepted: status = "accepted"
            case .duplicate: status = "duplicate"
            case .rejected(let error):
                status = "rejected"
                code = error.code.rawValue
                message = error.message
                line = error.place.line
            }
            partner = report.result.header?.partner.rawValue
            sequence = report.result.header?.sequence
            if let s = report.result.summary {
                records = s.records
                accepted = s.accepted
                rejected = s.rejected
            }
            acknowledgement = report.result.acknowledgement
        }
    }

    /// What `ingest --json` and `submit --json` print: each file's outcome, in order.
    struct Answers: Encodable {
        let files: [Answer]
    }
}

/// A progress line on a terminal: drawn on standard error, rewritten in place at most four
/// times a second, from the moment the work has taken half a second, and cleared when the
/// work ends, so what the command prints next starts on a clean line. Silent when standard
/// error is not a terminal. `COALITION_PROGRESS_AFTER` sets the half second (0 draws at once:
/// for tests on a pseudo-terminal, and for a slow terminal).
struct ProgressLine {
    let label: String
    let enabled: Bool
    private let started = Date()
    private var lastShown = Date.distantPast
    private var shown = false
    private let delay: Double

    init(label: String, enabled: Bool = true) {
        self.label = label
        self.enabled = enabled && isatty(2) != 0
        delay = ProcessInfo.processInfo.environment["COALITION_PROGRESS_AFTER"].flatMap(Double.init) ?? 0.5
    }

    /// Draws `label: text` if it is time to; `isComplete` draws it whenever anything was
    /// drawn before, so a line shown reaches its end.
    mutating func show(_ text: @autoclosure () -> String, isComplete: Bool = false) {
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(started) >= delay,
            now.timeIntervalSince(lastShown) >= 0.25 || (isComplete && shown) || lastShown == .distantPast
        else { return }
        lastShown = now
        shown = true
        FileHandle.standardError.write(Data("\r\u{1B}[K\(label): \(text())".utf8))
    }

    /// `done` of `total` as a percentage, with `unit`.
    mutating func update(_ done: Int64, of total: Int64, unit: String) {
        show(
            "\(total > 0 ? min(100, done * 100 / total) : 0)% (\(Points.grouped(done)) of \(Points.grouped(total)) \(unit))"
        )
    }

    /// Clears the line, if one was drawn.
    func finish() {
        if shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
