import CoalitionKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What became of one settlement file.
package struct IngestResult: Sendable {
    package enum Status: Sendable, Equatable {
        /// Verified and applied; its records were each accepted or rejected.
        case accepted
        /// The same batch with the same bytes was applied before: nothing was applied again,
        /// and the original acknowledgement was written again.
        case duplicate
        /// A whole-file fault: nothing was applied.
        case rejected(CoalitionError)
    }

    package var status: Status
    package var header: FileHeader?
    package var summary: BatchSummary?
    /// Where the acknowledgement was written, if one could be (a file whose partner or key
    /// is unknown cannot be answered under its key).
    package var acknowledgement: String?

    package init(
        status: Status,
        header: FileHeader? = nil,
        summary: BatchSummary? = nil,
        acknowledgement: String? = nil
    ) {
        self.status = status
        self.header = header
        self.summary = summary
        self.acknowledgement = acknowledgement
    }
}

/// Verifies and applies settlement files: the partner → coalition path.
///
/// Two passes over the file, each in large chunks: the first checks the header, the key and
/// the signature before anything is applied; the second parses and applies records in
/// chunks inside one store transaction, writing the acknowledgement as it goes, and commits
/// only if the file is whole (trailer counts and totals) and its bytes are still the ones
/// signed. A whole-file fault rolls everything back.
package struct Ingestor {
    package let ledger: Ledger
    /// The key ring of a partner (from the data directory).
    package let keyRing: (Partner) throws -> KeyRing
    /// The time the file is received: the window and key validity are judged against it.
    package var now: Timestamp
    /// How many records the engine takes at once.
    package var chunkRecords = 8_192
    /// Called after each chunk with the bytes read so far.
    package var progress: ((Int64) -> Void)?

    package init(ledger: Ledger, now: Timestamp, keyRing: @escaping (Partner) throws -> KeyRing) {
        self.ledger = ledger
        self.now = now
        self.keyRing = keyRing
    }

    /// Ingests the file at `path`, writing its acknowledgement into `outbox`.
    package func ingest(path: String, outbox: String) throws -> IngestResult {
        var header: FileHeader?
        var ring: KeyRing?
        do {
            let scanner = try FileScanner(path: path)
            let verified = try verify(scanner, path: path, header: &header, ring: &ring)
            let partner = try ledger.network.partner(verified.header.partner)
            if let existing = try ledger.store.batch(partner: partner.id, sequence: verified.header.sequence) {
                guard existing.fileSignature == Hex.encode(verified.signature) else {
                    let last = try ledger.store.lastSequence(partner: partner.id)
                    if verified.header.sequence < last {
                        // An older batch with other bytes: the partner's numbering went back.
                        throw CoalitionError(
                            .sequenceBackwards,
                            "batch \(verified.header.sequence) of \(partner.id) is behind its last batch \(last), and is not a replay of the batch applied under that number",
                            at: Place(file: path, line: 1)
                        )
                    }
                    throw CoalitionError(
                        .batchConflict,
                        "batch \(verified.header.sequence) of \(partner.id) was already applied with other bytes",
                        at: Place(file: path, line: 1)
                    )
                }
                let ackPath = Ingestor.acknowledgementPath(outbox, verified.header)
                try Acknowledgement.rewrite(
                    existing,
                    of: verified.header,
                    ledger: ledger,
                    ring: verified.ring,
                    to: ackPath
                )
                return IngestResult(
                    status: .duplicate,
                    header: verified.header,
                    summary: existing,
                    acknowledgement: ackPath
                )
            }
            let last = try ledger.store.lastSequence(partner: partner.id)
            if verified.header.sequence <= last {
                throw CoalitionError(
                    .sequenceBackwards,
                    "batch \(verified.header.sequence) comes after batch \(last) of \(partner.id); sequence numbers only go up",
                    at: Place(file: path, line: 1)
                )
            }
            if verified.header.sequence != last + 1 {
                throw CoalitionError(
                    .sequenceGap,
                    "batch \(verified.header.sequence) skips ahead: the next batch of \(partner.id) is \(last + 1)",
                    at: Place(file: path, line: 1)
                )
            }
            let ackPath = Ingestor.acknowledgementPath(outbox, verified.header)
            let summary = try apply(scanner, verified: verified, path: path, acknowledgement: ackPath)
            return IngestResult(status: .accepted, header: verified.header, summary: summary, acknowledgement: ackPath)
        } catch let error as CoalitionError where !error.isStoreFault && error.code != .io {
            var located = error
            if located.place.file == nil { located.place.file = path }
            var result = IngestResult(status: .rejected(located), header: header)
            if header == nil || ring == nil, let attributed = attributableHeader(path: path) {
                (header, ring) = attributed
            }
            if let header, let ring {
                let ackPath = Ingestor.unusedPath(Ingestor.acknowledgementPath(outbox, header, rejectedAt: now))
                if (try? Acknowledgement.writeRejection(located, of: header, ring: ring, now: now, to: ackPath)) != nil
                {
                    result.acknowledgement = ackPath
                }
            }
            return result
        }
    }

    /// The partner and key a file's first line names, when the line could not be read as a
    /// header (its line end, version or direction is wrong) but still names a partner of the
    /// network, a batch number and a key of its ring valid now: such a file can be attributed,
    /// and is answered with a signed rejection. Nil otherwise.
    func attributableHeader(path: String) -> (FileHeader, KeyRing)? {
        guard let start = try? FileScanner(path: path).prefix(SettlementFormat.maximumLineLength + 1),
            let named = SettlementLines.attribution(start: start),
            let partner = ledger.network.partners[named.partner], let ring = try? keyRing(partner),
            let key = ring.key(id: named.keyID), key.info.isValid(at: now)
        else { return nil }
        let header = FileHeader(
            kind: .settlement,
            partner: named.partner,
            sequence: named.sequence,
            createdAt: named.createdAt ?? now,
            keyID: key.info.id
        )
        return (header, ring)
    }

    /// Pass one alone (header, key, window, signature): what the benchmark times as
    /// verification. Applies nothing.
    package func verifyOnly(path: String) throws -> FileHeader {
        var header: FileHeader?
        var ring: KeyRing?
        return try verify(try FileScanner(path: path), path: path, header: &header, ring: &ring).header
    }

    /// Parses and validates every line of `partner`'s file without applying anything: what
    /// the benchmark times as parsing. Returns the records and the record faults found.
    package static func parseOnly(path: String, partner: PartnerID) throws -> (records: Int, faults: Int) {
        var tally = RecordTally(partner: partner)
        _ = try FileScanner(path: path).scan(mac: nil) { line, number in
            try tally.take(line, number: number)
        }
        return (tally.records, tally.faults)
    }

    /// `SKYWAYS-000042.ack`, or `SKYWAYS-000042-rejected-20261122T101500Z.ack`.
    package static func acknowledgementPath(
        _ outbox: String,
        _ header: FileHeader,
        rejectedAt: Timestamp? = nil
    ) -> String {
        var name = header.fileStem
        if let rejectedAt {
            name += "-rejected-" + rejectedAt.description.filter { $0 != "-" && $0 != ":" }
        }
        return outbox + "/" + name + ".ack"
    }

    /// `path`, or `….ack` made `…-2.ack`, `…-3.ack` while taken: files rejected for one batch
    /// at one time (one `ingest` run) each keep their own answer.
    static func unusedPath(_ path: String) -> String {
        let stem = path.hasSuffix(".ack") ? String(path.dropLast(4)) : path
        var candidate = path
        var n = 1
        while access(candidate, F_OK) == 0 {
            n += 1
            candidate = "\(stem)-\(n).ack"
        }
        return candidate
    }

    struct Verified {
        let header: FileHeader
        let key: KeyRing.Key
        let ring: KeyRing
        let signature: [UInt8]
    }

    /// Pass one: header, partner, key, window, signature. Nothing is applied.
    private func verify(
        _ scanner: FileScanner,
        path: String,
        header headerOut: inout FileHeader?,
        ring ringOut: inout KeyRing?
    ) throws -> Verified {
        let header = try SettlementLines.header(start: try scanner.prefix(SettlementFormat.maximumLineLength + 1))
        headerOut = header
        guard let partner = ledger.network.partners[header.partner] else {
            throw CoalitionError(.unknownPartner, "no partner '\(header.partner)' in the network", at: Place(line: 1))
        }
        let ring = try keyRing(partner)
        ringOut = ring
        guard let key = ring.key(id: header.keyID) else {
            throw CoalitionError(.unknownKey, "\(partner.id) has no key '\(header.keyID)'", at: Place(line: 1))
        }
        try SettlementLines.checkKey(key, header: header, now: now, window: ledger.network.clearing)
        let mac = try HMACSHA256(key: key.secret)
        let scanned = try scanner.scan(mac: mac)
        let signature = try SettlementLines.signature(in: scanned.lastLine, line: scanned.lineCount)
        guard constantTimeEqual(mac.finish(), signature) else {
            throw CoalitionError(
                .badSignature,
                "the signature does not match the file's bytes under key \(key.info.id)",
                at: Place(line: scanned.lineCount == 0 ? nil : scanned.lineCount)
            )
        }
        return Verified(header: header, key: key, ring: ring, signature: signature)
    }

    /// Pass two: parse and apply in chunks, write the acknowledgement, commit, publish it.
    private func apply(
        _ scanner: FileScanner,
        verified: Verified,
        path: String,
        acknowledgement ackPath: String
    ) throws
        -> BatchSummary
    {
        let answer = try Answer(opening: verified, ingestor: self, path: TemporaryPath.beside(ackPath))
        var committed = false
        defer { if !committed { answer.writer.discard() } }
        let info = BatchInfo(
            partner: verified.header.partner,
            sequence: verified.header.sequence,
            source: "file:" + Ingestor.fileName(path),
            receivedAt: now
        )
        let summary: BatchSummary = try ledger.batch(info) { session in
            session.collectsAcknowledgementDetails = answer.writer.version >= 2
            try applyBody(scanner, verified: verified, session: session, answer: answer)
            return try seal(session, verified: verified, answer: answer)
        }
        try Failpoint.reach("ingest.after-commit")
        try answer.writer.publish(to: ackPath)
        committed = true
        return summary
    }

    /// The acknowledgement being written, and the key it is signed under: the key the partner
    /// signed with while it is valid (the partner holds it), else the ring's key for now.
    private struct Answer {
        let writer: Acknowledgement.Writer
        let key: KeyRing.Key

        init(opening verified: Verified, ingestor: Ingestor, path: String) throws {
            let now = ingestor.now
            key = verified.key.info.isValid(at: now) ? verified.key : try verified.ring.signingKey(at: now)
            writer = try Acknowledgement.Writer(
                path: path,
                header: verified.header,
                key: key,
                now: now,
                fileSignature: verified.signature,
                version: try ingestor.ledger.network.partner(verified.header.partner).acknowledgementVersion
            )
        }
    }

    /// The records of one chunk, waiting to be applied together, with the acknowledgement
    /// items of their lines (record faults included, in line order).
    private struct Chunk {
        var items: [Acknowledgement.Item] = []
        var records: [LedgerRecord] = []
        var lines: [Int] = []

        init(capacity: Int) {
            items.reserveCapacity(capacity)
            records.reserveCapacity(capacity)
        }

        mutating func add(_ entry: SettlementBody.Entry, line: Int) {
            switch entry {
            case .record(let record):
                items.append(.record(line: line, recordID: record.key.recordID))
                records.append(record)
                lines.append(line)
            case .fault(let recordID, let error):
                items.append(.fault(line: line, recordID: recordID, error))
            }
        }

        /// Applies the chunk's records, writes their answers, records the faults, empties it.
        mutating func flush(into session: BatchSession, answer: Answer) throws {
            let outcomes = try session.apply(records, lines: lines)
            try answer.writer.write(items, outcomes: outcomes, details: session.acknowledgementDetails)
            for item in items {
                if case .fault(let line, let recordID, let error) = item {
                    session.reject(line: line, recordID: recordID, error)
                }
            }
            items.removeAll(keepingCapacity: true)
            records.removeAll(keepingCapacity: true)
            lines.removeAll(keepingCapacity: true)
        }
    }

    /// Reads the file again under the HMAC, applying its records chunk by chunk; checks the
    /// trailer and that the bytes are still the ones signed.
    private func applyBody(
        _ scanner: FileScanner,
        verified: Verified,
        session: BatchSession,
        answer: Answer
    ) throws {
        var body = SettlementBody(partner: verified.header.partner)
        var chunk = Chunk(capacity: chunkRecords)
        let mac = try HMACSHA256(key: verified.key.secret)
        var bytesSeen: Int64 = 0
        let scanned = try scanner.scan(mac: mac) { line, number in
            bytesSeen += Int64(line.count + 1)
            try SettlementLines.checkEncoding(line, number: number)
            if number == 1 { return }
            if let entry = try body.take(line, number: number) { chunk.add(entry, line: number) }
            if chunk.items.count >= chunkRecords {
                try chunk.flush(into: session, answer: answer)
                progress?(bytesSeen)
            }
        }
        try chunk.flush(into: session, answer: answer)
        progress?(bytesSeen)
        try body.finish(lineCount: scanned.lineCount)
        guard constantTimeEqual(mac.finish(), verified.signature) else {
            throw CoalitionError(
                .badSignature,
                "the file changed while it was being read",
                at: Place(line: scanned.lineCount)
            )
        }
    }

    /// Finishes and signs the acknowledgement, and keeps in the batch's summary what is needed
    /// to send it again and the events that announce it.
    private func seal(_ session: BatchSession, verified: Verified, answer: Answer) throws -> BatchSummary {
        let ackSignature = try answer.writer.finish(records: session.summary)
        session.summary.fileSignature = Hex.encode(verified.signature)
        session.summary.fileCreatedAt = verified.header.createdAt
        session.summary.ackKeyID = answer.key.info.id
        session.summary.ackCreatedAt = now
        session.summary.ackSignature = Hex.encode(ackSignature)
        session.summary.events = PartnerEvents.acknowledgementReady(
            session.summary,
            network: ledger.network,
            at: now
        )
        return session.summary
    }

    static func fileName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
