#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What became of one settlement file.
public struct IngestResult: Sendable {
    public enum Status: Sendable, Equatable {
        /// Verified and applied; its records were each accepted or rejected.
        case accepted
        /// The same batch with the same bytes was applied before: nothing was applied again,
        /// and the original acknowledgement was written again.
        case duplicate
        /// A whole-file fault: nothing was applied.
        case rejected(CoalitionError)
    }

    public var status: Status
    public var header: FileHeader?
    public var summary: BatchSummary?
    /// Where the acknowledgement was written, if one could be (a file whose partner or key
    /// is unknown cannot be answered under its key).
    public var acknowledgement: String?

    public init(
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
public struct Ingestor {
    public let ledger: Ledger
    /// The key ring of a partner (from the data directory).
    public let keyRing: (Partner) throws -> KeyRing
    /// The time the file is received: the window and key validity are judged against it.
    public var now: Timestamp
    /// How many records the engine takes at once.
    public var chunkRecords = 8_192
    /// Called after each chunk with the bytes read so far.
    public var progress: ((Int64) -> Void)?

    public init(ledger: Ledger, now: Timestamp, keyRing: @escaping (Partner) throws -> KeyRing) {
        self.ledger = ledger
        self.now = now
        self.keyRing = keyRing
    }

    /// Ingests the file at `path`, writing its acknowledgement into `outbox`.
    public func ingest(path: String, outbox: String) throws -> IngestResult {
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
        guard let start = try? FileScanner(path: path).prefix(SettlementFormat.maximumLineLength + 1) else {
            return nil
        }
        var line = start.prefix { $0 != SettlementFormat.newline }
        if line.last == 13 { line = line.dropLast() }
        let fields = line.split(separator: SettlementFormat.separator, omittingEmptySubsequences: false)
        guard fields.count == 8, fields[0].elementsEqual("H".utf8),
            let id = try? PartnerID(String(decoding: fields[4], as: UTF8.self)),
            let partner = ledger.network.partners[id], let ring = try? keyRing(partner),
            let key = ring.key(id: String(decoding: fields[7], as: UTF8.self)), key.info.isValid(at: now),
            let sequence = FieldParser.number(fields[5]), sequence >= 1
        else { return nil }
        let header = FileHeader(
            kind: .settlement,
            partner: id,
            sequence: sequence,
            createdAt: FieldParser.time(fields[6]) ?? now,
            keyID: key.info.id
        )
        return (header, ring)
    }

    /// Pass one alone (header, key, window, signature): what the benchmark times as
    /// verification. Applies nothing.
    public func verifyOnly(path: String) throws -> FileHeader {
        var header: FileHeader?
        var ring: KeyRing?
        return try verify(try FileScanner(path: path), path: path, header: &header, ring: &ring).header
    }

    /// Parses and validates every line of `partner`'s file without applying anything: what
    /// the benchmark times as parsing. Returns the records and the record faults found.
    public static func parseOnly(path: String, partner: PartnerID) throws -> (records: Int, faults: Int) {
        var totals = ControlTotals()
        var records = 0
        var faults = 0
        var fields: RecordParser.Fields = []
        _ = try FileScanner(path: path).scan(mac: nil) { line, number in
            try checkEncoding(line, number: number)
            guard number > 1 else { return }
            switch RecordParser.parse(line, number: number, partner: partner, totals: &totals, fields: &fields) {
            case .record: records += 1
            case .fault: faults += 1
            case .trailer, .signature: break
            }
        }
        return (records, faults)
    }

    /// `SKYWAYS-000042.ack`, or `SKYWAYS-000042-rejected-20261122T101500Z.ack`.
    public static func acknowledgementPath(
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
        let start = try scanner.prefix(SettlementFormat.maximumLineLength + 1)
        guard !start.isEmpty else { throw CoalitionError(.emptyFile, "the file is empty") }
        if start.starts(with: [0xEF, 0xBB, 0xBF]) {
            throw CoalitionError(
                .byteOrderMark,
                "the file starts with a UTF-8 byte order mark; write UTF-8 without one",
                at: Place(line: 1)
            )
        }
        guard let end = start.firstIndex(of: SettlementFormat.newline) else {
            throw CoalitionError(
                start.count > SettlementFormat.maximumLineLength ? .lineTooLong : .missingSignature,
                "the header line does not end (no LF within \(SettlementFormat.maximumLineLength) bytes)",
                at: Place(line: 1)
            )
        }
        if end > 0 && start[end - 1] == 13 {
            throw CoalitionError(.carriageReturn, "lines end with CR LF; the format uses LF alone", at: Place(line: 1))
        }
        let header = try FileHeader(line: start[0..<end], expecting: [.settlement])
        headerOut = header
        guard let partner = ledger.network.partners[header.partner] else {
            throw CoalitionError(.unknownPartner, "no partner '\(header.partner)' in the network", at: Place(line: 1))
        }
        let ring = try keyRing(partner)
        ringOut = ring
        guard let key = ring.key(id: header.keyID) else {
            throw CoalitionError(.unknownKey, "\(partner.id) has no key '\(header.keyID)'", at: Place(line: 1))
        }
        if let revocation = key.info.revocation, now >= revocation.at {
            throw CoalitionError(
                .keyRevoked,
                "key \(key.info.id) was revoked at \(revocation.at): nothing signed with it is accepted",
                at: Place(line: 1)
            )
        }
        guard key.info.isValid(at: header.createdAt) else {
            let until = key.info.validUntil.map { " until \($0)" } ?? ""
            throw CoalitionError(
                .keyNotValid,
                "key \(key.info.id) signs from \(key.info.validFrom)\(until), not at the file's created-at \(header.createdAt)",
                at: Place(line: 1)
            )
        }
        let window = ledger.network.clearing
        guard header.createdAt >= now.adding(seconds: -window.acceptedPastSeconds),
            header.createdAt <= now.adding(seconds: window.acceptedFutureSeconds)
        else {
            throw CoalitionError(
                .createdAtOutOfWindow,
                "created-at \(header.createdAt) is outside the accepted window around \(now)",
                at: Place(line: 1)
            )
        }
        let mac = try HMACSHA256(key: key.secret)
        let scanned = try scanner.scan(mac: mac)
        let signature = try Ingestor.signature(in: scanned.lastLine, line: scanned.lineCount)
        guard constantTimeEqual(mac.finish(), signature) else {
            throw CoalitionError(
                .badSignature,
                "the signature does not match the file's bytes under key \(key.info.id)",
                at: Place(line: scanned.lineCount == 0 ? nil : scanned.lineCount)
            )
        }
        return Verified(header: header, key: key, ring: ring, signature: signature)
    }

    /// The 32 bytes of a signature line `S|<64 hex>`, or `MISSING_SIGNATURE`.
    static func signature(in line: [UInt8], line number: Int) throws -> [UInt8] {
        guard line.count == 66, line[0] == UInt8(ascii: "S"), line[1] == SettlementFormat.separator,
            line[2...].allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
            let bytes = Hex.decode(line[2...])
        else {
            throw CoalitionError(
                .missingSignature,
                "the last line must be S| and 64 lowercase hex digits: the file is cut short or unsigned",
                at: Place(line: number == 0 ? nil : number)
            )
        }
        return bytes
    }

    /// Pass two: parse and apply in chunks, write the acknowledgement, commit.
    private func apply(
        _ scanner: FileScanner,
        verified: Verified,
        path: String,
        acknowledgement ackPath: String
    ) throws
        -> BatchSummary
    {
        let header = verified.header
        let partner = header.partner
        // Answer under the key the partner signed with while it is valid: the partner holds it.
        let ackKey = verified.key.info.isValid(at: now) ? verified.key : try verified.ring.signingKey(at: now)
        let version = try ledger.network.partner(partner).acknowledgementVersion
        let ack = try Acknowledgement.Writer(
            path: TemporaryPath.beside(ackPath),
            header: header,
            key: ackKey,
            now: now,
            fileSignature: verified.signature,
            version: version
        )
        var committed = false
        defer { if !committed { ack.discard() } }
        let info = BatchInfo(
            partner: partner,
            sequence: header.sequence,
            source: "file:" + Ingestor.fileName(path),
            receivedAt: now
        )
        let summary: BatchSummary = try ledger.batch(info) { session in
            session.collectsAcknowledgementDetails = version >= 2
            var counted = ControlTotals()
            var stated: ControlTotals?
            var trailerLine: Int?
            var signatureLine: Int?
            var items: [Acknowledgement.Item] = []
            var records: [LedgerRecord] = []
            var lines: [Int] = []
            items.reserveCapacity(chunkRecords)
            records.reserveCapacity(chunkRecords)
            func flush() throws {
                let outcomes = try session.apply(records, lines: lines)
                try ack.write(items, outcomes: outcomes, details: session.acknowledgementDetails)
                for item in items {
                    if case .fault(let line, let recordID, let error) = item {
                        session.reject(line: line, recordID: recordID, error)
                    }
                }
                items.removeAll(keepingCapacity: true)
                records.removeAll(keepingCapacity: true)
                lines.removeAll(keepingCapacity: true)
            }
            let mac = try HMACSHA256(key: verified.key.secret)
            var bytesSeen: Int64 = 0
            var fields: RecordParser.Fields = []
            let scanned = try scanner.scan(mac: mac) { line, number in
                bytesSeen += Int64(line.count + 1)
                try Ingestor.checkEncoding(line, number: number)
                if number == 1 { return }
                if signatureLine != nil {
                    throw CoalitionError(.badTrailer, "a line follows the signature line", at: Place(line: number))
                }
                switch RecordParser.parse(line, number: number, partner: partner, totals: &counted, fields: &fields) {
                case .signature:
                    signatureLine = number
                case .trailer(let totals):
                    guard trailerLine == nil else {
                        throw CoalitionError(.badTrailer, "a second trailer line", at: Place(line: number))
                    }
                    guard let totals else {
                        throw CoalitionError(
                            .badTrailer,
                            "the trailer must be T| and 8 whole numbers",
                            at: Place(line: number)
                        )
                    }
                    trailerLine = number
                    stated = totals
                case .record(let record):
                    if trailerLine != nil {
                        throw CoalitionError(.badTrailer, "a record follows the trailer", at: Place(line: number))
                    }
                    items.append(.record(line: number, recordID: record.key.recordID))
                    records.append(record)
                    lines.append(number)
                case .fault(let recordID, let error):
                    if trailerLine != nil {
                        throw CoalitionError(.badTrailer, "a record follows the trailer", at: Place(line: number))
                    }
                    items.append(.fault(line: number, recordID: recordID, error.located(Place(line: number))))
                }
                if items.count >= chunkRecords {
                    try flush()
                    progress?(bytesSeen)
                }
            }
            try flush()
            progress?(bytesSeen)
            guard let stated, let trailerLine else {
                throw CoalitionError(
                    .missingTrailer,
                    "the file has no trailer line T|…",
                    at: Place(line: scanned.lineCount)
                )
            }
            let match = stated.matches(counted)
            guard match.counts else {
                throw CoalitionError(
                    .trailerCountMismatch,
                    "the trailer states \(stated.line) but the file holds \(counted.line)",
                    at: Place(line: trailerLine)
                )
            }
            guard match.totals else {
                throw CoalitionError(
                    .trailerTotalMismatch,
                    "the trailer states \(stated.line) but the file's amounts add up to \(counted.line)",
                    at: Place(line: trailerLine)
                )
            }
            guard constantTimeEqual(mac.finish(), verified.signature) else {
                throw CoalitionError(
                    .badSignature,
                    "the file changed while it was being read",
                    at: Place(line: scanned.lineCount)
                )
            }
            let ackSignature = try ack.finish(records: session.summary)
            session.summary.fileSignature = Hex.encode(verified.signature)
            session.summary.fileCreatedAt = header.createdAt
            session.summary.ackKeyID = ackKey.info.id
            session.summary.ackCreatedAt = now
            session.summary.ackSignature = Hex.encode(ackSignature)
            session.summary.events = PartnerEvents.acknowledgementReady(
                session.summary,
                network: ledger.network,
                at: now
            )
            return session.summary
        }
        try Failpoint.reach("ingest.after-commit")
        try ack.publish(to: ackPath)
        committed = true
        return summary
    }

    /// No CR, and valid UTF-8 where a line has bytes above ASCII.
    static func checkEncoding(_ line: UnsafeBufferPointer<UInt8>, number: Int) throws {
        var high = false
        for byte in line {
            if byte == 13 {
                throw CoalitionError(.carriageReturn, "a CR byte: lines end with LF alone", at: Place(line: number))
            }
            if byte >= 0x80 { high = true }
        }
        if high && String(validating: line, as: UTF8.self) == nil {
            throw CoalitionError(.invalidUTF8, "the line is not valid UTF-8", at: Place(line: number))
        }
    }

    static func fileName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
