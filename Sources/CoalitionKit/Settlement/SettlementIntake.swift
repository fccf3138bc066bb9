import Foundation

/// Takes a settlement file into the ledger the way an operator's inbox does, and the way the
/// partner API does for an uploaded file: verify and apply it through the `Ingestor`, file
/// the original under `archive/` or `rejected/` (with a `.reason` file beside a rejected
/// one), and leave the acknowledgement in `outbox/`.
///
/// The `coalition submit`/`ingest` commands and `coalition serve` share it, so a file is
/// filed the same way whichever door it came in by.
public struct SettlementIntake {
    /// How the original is filed once it has been taken in.
    public enum Filing: Sendable {
        /// Moved (an inbox file).
        case move
        /// Copied (a file named on the command line: the operator keeps theirs).
        case copy
    }

    /// What became of one file, and where its original was filed.
    public struct Report: Sendable {
        public let name: String
        public let result: IngestResult
        public let filedAt: String
    }

    public let ledger: Ledger
    public let keyRing: (Partner) throws -> KeyRing
    public var now: Timestamp
    public let outbox: String
    public let archive: String
    public let rejected: String
    /// Called while a file is applied with the bytes read so far.
    public var progress: ((Int64) -> Void)?

    /// An intake into the data directory folders `outbox`, `archive` and `rejected`.
    public init(
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
    public func process(_ path: String, filing: Filing) throws -> Report {
        var ingestor = Ingestor(ledger: ledger, now: now, keyRing: keyRing)
        ingestor.progress = progress
        let result = try ingestor.ingest(path: path, outbox: outbox)
        let name = (path as NSString).lastPathComponent
        let isRejected: Bool
        if case .rejected = result.status { isRejected = true } else { isRejected = false }
        let folder = isRejected ? rejected : archive
        let destination = SettlementIntake.uniquePath((folder as NSString).appendingPathComponent(name))
        try SettlementIntake.file(path, to: destination, filing: filing)
        if case .rejected(let error) = result.status {
            let reason = """
                file: \(name)
                rejected-at: \(now)
                code: \(error.code)
                message: \(error.message)
                place: \(error.place.line.map { "line \($0)" } ?? "whole file")

                """
            _ = FileManager.default.createFile(atPath: destination + ".reason", contents: Data(reason.utf8))
        }
        return Report(name: name, result: result, filedAt: destination)
    }

    /// Moves or copies `path` to `destination`; a failure is `IO_ERROR`.
    static func file(_ path: String, to destination: String, filing: Filing) throws {
        let fileManager = FileManager.default
        do {
            switch filing {
            case .move:
                try fileManager.moveItem(atPath: path, toPath: destination)
            case .copy:
                try fileManager.copyItem(atPath: path, toPath: destination)
            }
        } catch {
            let folder = ((destination as NSString).deletingLastPathComponent as NSString).lastPathComponent
            throw CoalitionError(
                .io,
                "cannot file \((destination as NSString).lastPathComponent) under \(folder)/: "
                    + error.localizedDescription,
                at: Place(file: path)
            )
        }
    }

    /// `path`, or `path.1`, `path.2`, … when it is taken: nothing filed is ever overwritten.
    public static func uniquePath(_ path: String) -> String {
        var candidate = path
        var n = 0
        while FileManager.default.fileExists(atPath: candidate) {
            n += 1
            candidate = "\(path).\(n)"
        }
        return candidate
    }
}
