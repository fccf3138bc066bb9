import CoalitionKit
import Foundation

/// Takes a settlement file into the ledger the way an operator's inbox does, and the way the
/// partner API does for an uploaded file: verify and apply it through the `Ingestor`, file
/// the original under `archive/` or `rejected/` (with a `.reason` file beside a rejected
/// one), and leave the acknowledgement in `outbox/`.
///
/// The `coalition submit`/`ingest` commands and `coalition serve` share it, so a file is
/// filed the same way whichever door it came in by.
package struct SettlementIntake {
    /// How the original is filed once it has been taken in.
    package enum Filing: Sendable {
        /// Moved (an inbox file).
        case move
        /// Copied (a file named on the command line: the operator keeps theirs).
        case copy
    }

    /// What became of one file, and where its original was filed.
    package struct Report: Sendable {
        package let name: String
        package let result: IngestResult
        package let filedAt: String

        package init(name: String, result: IngestResult, filedAt: String) {
            self.name = name
            self.result = result
            self.filedAt = filedAt
        }
    }

    package let ledger: Ledger
    package let keyRing: (Partner) throws -> KeyRing
    package var now: Timestamp
    package let outbox: String
    package let archive: String
    package let rejected: String
    /// Called while a file is applied with the bytes read so far.
    package var progress: ((Int64) -> Void)?

    /// An intake into the data directory folders `outbox`, `archive` and `rejected`.
    package init(
        ledger: Ledger,
        now: Timestamp,
        outbox: String,
        archive: String,
        rejected: String,
        keyRing: @escaping (Partner) throws -> KeyRing
    ) {
        self.ledger = ledger
        self.now = now
        self.outbox = outbox
        self.archive = archive
        self.rejected = rejected
        self.keyRing = keyRing
    }

    /// Verifies and applies the file at `path`, then files it, under its own name, as
    /// `filing` says.
    package func process(_ path: String, filing: Filing) throws -> Report {
        var ingestor = Ingestor(ledger: ledger, now: now, keyRing: keyRing)
        ingestor.progress = progress
        let result = try ingestor.ingest(path: path, outbox: outbox)
        let name = (path as NSString).lastPathComponent
        let isRejected: Bool
        if case .rejected = result.status { isRejected = true } else { isRejected = false }
        let destination = try SettlementFiling.file(
            path,
            into: isRejected ? rejected : archive,
            move: filing == .move,
            once: !isRejected
        )
        if case .rejected(let error) = result.status {
            // Escaped: the name and the message may carry bytes of a file no one has
            // authenticated, control characters included.
            try SettlementFiling.writeReason(error, name: name, at: now, to: destination + ".reason")
        }
        return Report(name: name, result: result, filedAt: destination)
    }

    /// `path`, or `path.1`, `path.2`, … when it is taken: nothing filed is ever overwritten.
    package static func uniquePath(_ path: String) -> String {
        var candidate = path
        var n = 0
        while FileManager.default.fileExists(atPath: candidate) {
            n += 1
            candidate = "\(path).\(n)"
        }
        return candidate
    }
}
