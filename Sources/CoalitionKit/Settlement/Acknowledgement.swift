import Foundation

/// The coalition's signed answer to a settlement file (coalition → partner):
///
/// ```
/// H|COALITION-ACK|1|C2P|<partner>|<batch sequence>|<created-at>|<key id>
/// REF|<the settlement file's signature>
/// A|<record id>|<points>                            one per accepted record, in file order
/// R|<line>|<record id>|<code>|<message>             one per rejected record, in line order
/// T|<records>|<accepted>|<rejected>|<points credited>|<points debited>
/// S|<HMAC-SHA256 of every byte before this line>
/// ```
/// A file rejected whole gets `F|<code>|<line>|<message>` in place of A and R lines.
public enum Acknowledgement {
    /// A record line of the file, in order, as the acknowledgement needs it.
    enum Item {
        case record(line: Int, recordID: String)
        case fault(line: Int, recordID: String, CoalitionError)
    }

    /// Streams an acknowledgement while its batch is applied: accepted lines straight into
    /// the file, rejected ones into a side file appended at the end.
    final class Writer {
        private let main: SignedFileWriter
        private let rejected: SignedFileWriter
        private let rejectedPath: String
        private var credited: Int64 = 0
        private var debited: Int64 = 0
        private var rejectedLines = 0
        /// The buffer each accepted record's line is written into.
        private var line = CanonicalBytes()

        init(path: String, header: FileHeader, key: KeyRing.Key, now: Timestamp, fileSignature: [UInt8]) throws {
            main = try SignedFileWriter(path: path, key: key.secret)
            rejectedPath = path + ".rejected"
            rejected = try SignedFileWriter(path: rejectedPath, key: nil)
            let ackHeader = FileHeader(
                kind: .acknowledgement,
                partner: header.partner,
                sequence: header.sequence,
                createdAt: now,
                keyID: key.info.id
            )
            try main.line(ackHeader.line)
            try main.line("REF|\(Hex.encode(fileSignature))")
        }

        func write(_ items: [Item], outcomes: [RecordOutcome]) throws {
            var next = 0
            for item in items {
                switch item {
                case .record(let line, let recordID):
                    switch outcomes[next] {
                    case .accepted(let points):
                        try accepted(recordID: recordID, points: points)
                    case .rejected(let error):
                        try rejected(line: line, recordID: recordID, code: error.code, message: error.message)
                    }
                    next += 1
                case .fault(let line, let recordID, let error):
                    try rejected(line: line, recordID: recordID, code: error.code, message: error.message)
                }
            }
        }

        func accepted(recordID: String, points: Int64) throws {
            if points > 0 { credited += points } else { debited -= points }
            // `A|<record id>|<points>`, written into a reused buffer: no string is made.
            line.removeAll()
            line.append(literal: "A|")
            line.append(recordID)
            line.append(separator: 124)
            line.append(points)
            line.append(separator: SettlementFormat.newline)
            try line.withUnsafeBytes { try main.append($0.assumingMemoryBound(to: UInt8.self)) }
        }

        func rejected(line: Int, recordID: String, code: ReasonCode, message: String) throws {
            rejectedLines += 1
            try rejected.line("R|\(line)|\(recordID)|\(code)|\(FieldParser.escape(message))")
        }

        /// Appends the rejected lines and the trailer, signs; returns the signature.
        func finish(records summary: BatchSummary) throws -> [UInt8] {
            try rejected.finish()
            if rejectedLines > 0 {
                _ = try FileScanner(path: rejectedPath).scan(mac: nil) { line, _ in
                    try self.main.append(line)
                    try self.main.line("")
                }
            }
            try main.line("T|\(summary.records)|\(summary.accepted)|\(summary.rejected)|\(credited)|\(debited)")
            unlink(rejectedPath)
            return try main.finish()
        }

        /// Moves the finished acknowledgement to `path`.
        func publish(to path: String) throws {
            try SignedFileWriter.rename(main.path, to: path)
        }

        func discard() {
            main.discard()
            rejected.discard()
        }
    }

    /// Writes the acknowledgement of a committed batch again, byte for byte, from the ledger:
    /// the answer to a replayed file.
    static func rewrite(
        _ summary: BatchSummary,
        of header: FileHeader,
        ledger: Ledger,
        ring: KeyRing,
        to path: String
    ) throws {
        guard let keyID = summary.ackKeyID, let key = ring.key(id: keyID), let createdAt = summary.ackCreatedAt,
            let fileSignature = summary.fileSignature.flatMap({ Hex.decode($0.utf8) })
        else {
            throw CoalitionError(.storeFailure, "batch \(summary.id) keeps no acknowledgement to send again")
        }
        let writer = try Writer(
            path: TemporaryPath.beside(path),
            header: header,
            key: key,
            now: createdAt,
            fileSignature: fileSignature
        )
        var done = false
        defer { if !done { writer.discard() } }
        if let first = summary.firstSeq, let last = summary.lastSeq {
            try ledger.store.forEachPosting(in: first...last) { posting in
                try writer.accepted(recordID: posting.recordID ?? "", points: posting.points)
            }
        }
        for rejection in try ledger.store.rejections(batch: summary.id) {
            try writer.rejected(
                line: rejection.line,
                recordID: rejection.recordID,
                code: rejection.code,
                message: rejection.message
            )
        }
        let signature = try writer.finish(records: summary)
        guard Hex.encode(signature) == summary.ackSignature else {
            throw CoalitionError(
                .storeFailure,
                "the acknowledgement of batch \(summary.id) cannot be reproduced from the ledger"
            )
        }
        try writer.publish(to: path)
        done = true
    }

    /// Writes the signed answer to a file rejected whole.
    static func writeRejection(
        _ error: CoalitionError,
        of header: FileHeader,
        ring: KeyRing,
        now: Timestamp,
        to path: String
    ) throws {
        let key = try ring.signingKey(at: now)
        let writer = try SignedFileWriter(path: path, key: key.secret)
        let ackHeader = FileHeader(
            kind: .acknowledgement,
            partner: header.partner,
            sequence: header.sequence,
            createdAt: now,
            keyID: key.info.id
        )
        try writer.line(ackHeader.line)
        try writer.line("REF|")
        try writer.line("F|\(error.code)|\(error.place.line ?? 0)|\(FieldParser.escape(error.message))")
        try writer.line("T|0|0|0|0|0")
        try writer.finish()
    }
}
