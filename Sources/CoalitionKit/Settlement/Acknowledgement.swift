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
///
/// Version 2 (for partners whose definition asks for it) adds, after the `A` line of a
/// record:
/// ```
/// I|<record id>|<issuer>|<points>                   the issuer split of a redemption or reversal
/// DEBT|<record id>|<partner owed>|<points>        the debt an earn reversal left (negative)
/// O|<record id>|<debtor>|<creditor>|<points>|<amount>|<currency>   each obligation it made
/// ```
public enum Acknowledgement {
    /// What a version 2 acknowledgement says of an accepted record beyond its points.
    typealias Detail = AppliedDetail

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

        /// 1, or 2 to write each record's `Detail`.
        let version: Int
        /// The partner answered: the one an earn reversal's debt is owed to.
        let partner: PartnerID

        init(
            path: String,
            header: FileHeader,
            key: KeyRing.Key,
            now: Timestamp,
            fileSignature: [UInt8],
            version: Int = SettlementFormat.version
        ) throws {
            self.version = version
            self.partner = header.partner
            main = try SignedFileWriter(path: path, key: key.secret)
            rejectedPath = path + ".rejected"
            rejected = try SignedFileWriter(path: rejectedPath, key: nil)
            let ackHeader = FileHeader(
                kind: .acknowledgement,
                partner: header.partner,
                sequence: header.sequence,
                createdAt: now,
                keyID: key.info.id,
                version: version
            )
            try main.line(ackHeader.line)
            try main.line("REF|\(Hex.encode(fileSignature))")
        }

        /// `details`: for version 2, each record's detail, in the order of `outcomes`.
        func write(_ items: [Item], outcomes: [RecordOutcome], details: [Detail?] = []) throws {
            var next = 0
            for item in items {
                switch item {
                case .record(let line, let recordID):
                    switch outcomes[next] {
                    case .accepted(let points):
                        try accepted(recordID: recordID, points: points)
                        if next < details.count, let detail = details[next] { try write(detail, of: recordID) }
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

        /// The `I`, `DEBT` and `O` lines of version 2 for an accepted record.
        func write(_ detail: Detail, of recordID: String) throws {
            guard version >= 2 else { return }
            for part in detail.split { try main.line("I|\(recordID)|\(part.issuer)|\(part.points)") }
            if detail.debt != 0 { try main.line("DEBT|\(recordID)|\(partner)|\(detail.debt)") }
            for o in detail.obligations {
                try main.line(
                    "O|\(recordID)|\(o.debtor)|\(o.creditor)|\(o.points)|\(o.amount)|\(o.currency.code)"
                )
            }
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
        // Written under the version the partner asks for now, or, if that changed since, the
        // other: whichever reproduces the signature sent.
        let current = (try? ledger.network.partner(header.partner).acknowledgementVersion) ?? SettlementFormat.version
        let versions =
            current == SettlementFormat.version
            ? [current, SettlementFormat.acknowledgementVersion] : [current, SettlementFormat.version]
        for (index, version) in versions.enumerated() {
            let isLast = index == versions.count - 1
            if try rewrite(
                summary,
                of: header,
                ledger: ledger,
                key: key,
                createdAt: createdAt,
                fileSignature: fileSignature,
                version: version,
                to: path,
                failing: isLast
            ) {
                return
            }
        }
    }

    /// One attempt of `rewrite` under `version`: true if it reproduced the signature sent (and
    /// published the file); false, or with `failing` a thrown fault, if not.
    private static func rewrite(
        _ summary: BatchSummary,
        of header: FileHeader,
        ledger: Ledger,
        key: KeyRing.Key,
        createdAt: Timestamp,
        fileSignature: [UInt8],
        version: Int,
        to path: String,
        failing: Bool
    ) throws -> Bool {
        let writer = try Writer(
            path: TemporaryPath.beside(path),
            header: header,
            key: key,
            now: createdAt,
            fileSignature: fileSignature,
            version: version
        )
        var done = false
        defer { if !done { writer.discard() } }
        var obligations: [Int64: [Obligation]] = [:]
        if version >= 2 {
            for o in try ledger.store.obligations(openOnly: false) where o.batch == summary.id {
                obligations[o.postingSeq, default: []].append(o)
            }
        }
        if let first = summary.firstSeq, let last = summary.lastSeq {
            try ledger.store.forEachPosting(in: first...last) { posting in
                try writer.accepted(recordID: posting.recordID ?? "", points: posting.points)
                if version >= 2,
                    let detail = Detail.of(
                        kind: posting.kind,
                        detail: posting.detail,
                        obligations: obligations[posting.seq] ?? []
                    )
                {
                    try writer.write(detail, of: posting.recordID ?? "")
                }
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
            guard failing else { return false }
            throw CoalitionError(
                .storeFailure,
                "the acknowledgement of batch \(summary.id) cannot be reproduced from the ledger"
            )
        }
        try writer.publish(to: path)
        done = true
        return true
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
