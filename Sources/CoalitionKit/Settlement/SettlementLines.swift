/// The checks of a settlement file's lines that need no file: its header's first bytes, the
/// encoding of each line, the signature line, and the body's records, trailer and order.
/// `CoalitionFiles` reads the bytes and hands them here.
package enum SettlementLines {
    /// The header of a settlement file from its first bytes (up to
    /// `SettlementFormat.maximumLineLength + 1`): empty, byte order mark, an unending or CR LF
    /// first line are whole-file faults.
    package static func header(start: [UInt8]) throws -> FileHeader {
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
        return try FileHeader(line: start[0..<end], expecting: [.settlement])
    }

    /// The partner, batch number, created-at and key id a first line names when it could not
    /// be read as a header (its line end, version or direction is wrong): the raw fields, or
    /// nil when the line does not have the shape of a header.
    package static func attribution(
        start: [UInt8]
    ) -> (partner: PartnerID, sequence: Int64, createdAt: Timestamp?, keyID: String)? {
        var line = start.prefix { $0 != SettlementFormat.newline }
        if line.last == 13 { line = line.dropLast() }
        let fields = line.split(separator: SettlementFormat.separator, omittingEmptySubsequences: false)
        guard fields.count == 8, fields[0].elementsEqual("H".utf8),
            let id = try? PartnerID(String(decoding: fields[4], as: UTF8.self)),
            let sequence = FieldParser.number(fields[5]), sequence >= 1
        else { return nil }
        return (id, sequence, FieldParser.time(fields[6]), String(decoding: fields[7], as: UTF8.self))
    }

    /// Whether `key` may sign a file with `header` received at `now` under the network's
    /// accepted window: not revoked, valid at the file's created-at, created-at in the window.
    package static func checkKey(
        _ key: KeyRing.Key,
        header: FileHeader,
        now: Timestamp,
        window: ClearingSettings
    ) throws {
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
        guard header.createdAt >= now.adding(seconds: -window.acceptedPastSeconds),
            header.createdAt <= now.adding(seconds: window.acceptedFutureSeconds)
        else {
            throw CoalitionError(
                .createdAtOutOfWindow,
                "created-at \(header.createdAt) is outside the accepted window around \(now)",
                at: Place(line: 1)
            )
        }
    }

    /// No CR, and valid UTF-8 where a line has bytes above ASCII.
    package static func checkEncoding(_ line: UnsafeBufferPointer<UInt8>, number: Int) throws {
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

    /// The 32 bytes of a signature line `S|<64 hex>`, or `MISSING_SIGNATURE`.
    package static func signature(in line: [UInt8], line number: Int) throws -> [UInt8] {
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
}

/// The lines of a settlement file after its header, taken one at a time: each is a record, a
/// record fault, the trailer or the signature line, in that order, and the trailer's counts
/// and totals must be the body's.
package struct SettlementBody {
    /// A body line that answers in the acknowledgement.
    package enum Entry {
        case record(LedgerRecord)
        /// A record rejected on its own, its error placed at its line.
        case fault(recordID: String, CoalitionError)
    }

    private let partner: PartnerID
    private var counted = ControlTotals()
    private var stated: ControlTotals?
    private var trailerLine: Int?
    private var signatureLine: Int?
    private var fields: RecordParser.Fields = []

    package init(partner: PartnerID) { self.partner = partner }

    /// Takes line `number` (2 onward, its encoding checked): a record or a record fault, or
    /// nil for the trailer and the signature line. Lines out of order are whole-file faults.
    package mutating func take(_ line: UnsafeBufferPointer<UInt8>, number: Int) throws -> Entry? {
        if signatureLine != nil {
            throw CoalitionError(.badTrailer, "a line follows the signature line", at: Place(line: number))
        }
        switch RecordParser.parse(line, number: number, partner: partner, totals: &counted, fields: &fields) {
        case .signature:
            signatureLine = number
            return nil
        case .trailer(let totals):
            guard trailerLine == nil else {
                throw CoalitionError(.badTrailer, "a second trailer line", at: Place(line: number))
            }
            guard let totals else {
                throw CoalitionError(.badTrailer, "the trailer must be T| and 8 whole numbers", at: Place(line: number))
            }
            trailerLine = number
            stated = totals
            return nil
        case .record(let record):
            if trailerLine != nil {
                throw CoalitionError(.badTrailer, "a record follows the trailer", at: Place(line: number))
            }
            return .record(record)
        case .fault(let recordID, let error):
            if trailerLine != nil {
                throw CoalitionError(.badTrailer, "a record follows the trailer", at: Place(line: number))
            }
            return .fault(recordID: recordID, error.located(Place(line: number)))
        }
    }

    /// After the last of `lineCount` lines: the trailer is there and states the body's counts
    /// and totals.
    package func finish(lineCount: Int) throws {
        guard let stated, let trailerLine else {
            throw CoalitionError(.missingTrailer, "the file has no trailer line T|…", at: Place(line: lineCount))
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
    }
}

/// The records and record faults of a settlement file's lines, their order unchecked: what
/// the benchmark times as parsing.
package struct RecordTally {
    package private(set) var records = 0
    package private(set) var faults = 0
    private let partner: PartnerID
    private var totals = ControlTotals()
    private var fields: RecordParser.Fields = []

    package init(partner: PartnerID) { self.partner = partner }

    /// Takes line `number` of the file (the header, line 1, is only checked for encoding).
    package mutating func take(_ line: UnsafeBufferPointer<UInt8>, number: Int) throws {
        try SettlementLines.checkEncoding(line, number: number)
        guard number > 1 else { return }
        switch RecordParser.parse(line, number: number, partner: partner, totals: &totals, fields: &fields) {
        case .record: records += 1
        case .fault: faults += 1
        case .trailer, .signature: break
        }
    }
}
