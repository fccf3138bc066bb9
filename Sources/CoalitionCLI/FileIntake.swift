import CoalitionKit
import Foundation

/// Takes settlement files into the ledger from the command line: the data directory's
/// folders for `SettlementIntake` (shared with the server), with progress on a terminal.
struct FileIntake {
    let data: DataDirectory
    let ledger: Ledger
    var now: Timestamp
    var showProgress: Bool

    typealias Report = SettlementIntake.Report

    /// Processes `path`; moves it when `move` is true, copies it otherwise.
    func process(_ path: String, move: Bool) throws -> Report {
        var intake = SettlementIntake(
            ledger: ledger,
            now: now,
            outbox: data.path("outbox"),
            archive: data.path("archive"),
            rejected: data.path("rejected")
        ) { try data.keyRing(for: $0) }
        let name = (path as NSString).lastPathComponent
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0
        var progress = ProgressLine(label: name, total: size, enabled: showProgress && size > 4 << 20)
        intake.progress = { progress.update($0) }
        let report = try intake.process(path, filing: move ? .move : .copy)
        progress.finish()
        return report
    }

    /// `path`, or `path.1`, `path.2`, … when it is taken: nothing filed is ever overwritten.
    static func uniquePath(_ path: String) -> String { SettlementIntake.uniquePath(path) }

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
