/// The settlement file family: line-oriented UTF-8 with LF endings, a header, body lines, a
/// trailer, and a last line carrying the HMAC-SHA256 of every byte before it.
/// `docs/settlement-format.md` is the normative description; this is its code.
package enum SettlementFormat {
    package static let version = 1
    /// The newest acknowledgement version, sent to partners that ask for it.
    package static let acknowledgementVersion = 2
    /// No line may be longer than this many bytes, LF excluded.
    package static let maximumLineLength = 1024
    package static let separator = UInt8(ascii: "|")
    package static let newline = UInt8(ascii: "\n")
}

/// Which kind of file of the family a header announces.
package enum FileKind: String, Sendable, CaseIterable {
    /// A partner's batch of records (partner → coalition).
    case settlement = "COALITION-SETTLEMENT"
    /// The coalition's answer to a settlement file (coalition → partner).
    case acknowledgement = "COALITION-ACK"
    /// A partner's clearing-cycle statement (coalition → partner).
    case statement = "COALITION-STATEMENT"
    /// A partner's own view of a cycle, to reconcile (partner → coalition).
    case reconciliation = "COALITION-RECONCILIATION"

    /// The direction this kind of file travels in: part of the signed bytes.
    package var direction: Direction {
        switch self {
        case .settlement, .reconciliation: .partnerToCoalition
        case .acknowledgement, .statement: .coalitionToPartner
        }
    }
}

/// Which way a file travels. The header names it and the signature covers it, so a file
/// sent one way can never pass as one sent the other way.
package enum Direction: String, Sendable {
    case partnerToCoalition = "P2C"
    case coalitionToPartner = "C2P"
}

/// The first line of every file: `H|kind|version|direction|partner|sequence|created-at|key id`.
package struct FileHeader: Hashable, Sendable {
    package var kind: FileKind
    package var partner: PartnerID
    /// The partner's batch sequence number (settlement files), the acknowledged batch's
    /// number (acknowledgements), or the cycle number (statements).
    package var sequence: Int64
    package var createdAt: Timestamp
    package var keyID: String
    /// The format version: 1, or 2 for an acknowledgement that carries issuer splits and
    /// obligations.
    package var version: Int

    package init(
        kind: FileKind,
        partner: PartnerID,
        sequence: Int64,
        createdAt: Timestamp,
        keyID: String,
        version: Int = SettlementFormat.version
    ) {
        self.version = version
        self.kind = kind
        self.partner = partner
        self.sequence = sequence
        self.createdAt = createdAt
        self.keyID = keyID
    }

    /// `SKYWAYS-000042`: the partner and the zero-padded number, for file names.
    package var fileStem: String {
        let number = String(sequence)
        return "\(partner)-" + String(repeating: "0", count: max(0, 6 - number.count)) + number
    }

    package var line: String {
        "H|\(kind.rawValue)|\(version)|\(kind.direction.rawValue)|\(partner)|\(sequence)|"
            + "\(createdAt)|\(keyID)"
    }

    /// Parses a header line (without its LF). Faults are `BAD_HEADER`,
    /// `UNSUPPORTED_VERSION` or `WRONG_DIRECTION`, at line 1.
    package init(line: ArraySlice<UInt8>, expecting expected: Set<FileKind>) throws {
        let place = Place(line: 1)
        let fields = line.split(separator: SettlementFormat.separator, omittingEmptySubsequences: false)
        func text(_ index: Int) -> String { String(decoding: fields[index], as: UTF8.self) }
        guard fields.count == 8, text(0) == "H" else {
            throw CoalitionError(
                .badHeader,
                "the first line must be H|kind|version|direction|partner|sequence|created-at|key id",
                at: place
            )
        }
        guard let kind = FileKind(rawValue: text(1)) else {
            throw CoalitionError(.badHeader, "'\(text(1))' is not a kind of Coalition file", at: place)
        }
        let version =
            text(2) == String(SettlementFormat.version)
            ? SettlementFormat.version
            : kind == .acknowledgement && text(2) == String(SettlementFormat.acknowledgementVersion)
                ? SettlementFormat.acknowledgementVersion : nil
        guard let version else {
            throw CoalitionError(
                .unsupportedVersion,
                "format version '\(text(2))' is not supported; this coalition reads version \(SettlementFormat.version)",
                at: place
            )
        }
        guard text(3) == kind.direction.rawValue else {
            throw CoalitionError(
                .wrongDirection,
                "a \(kind.rawValue) file travels \(kind.direction.rawValue), not \(text(3))",
                at: place
            )
        }
        guard expected.contains(kind) else {
            let names = expected.map(\.rawValue).sorted().joined(separator: " or ")
            throw CoalitionError(.wrongDirection, "expected a \(names) file, got \(kind.rawValue)", at: place)
        }
        guard let partner = try? PartnerID(text(4)) else {
            throw CoalitionError(.badHeader, "'\(text(4))' is not a partner id", at: place)
        }
        guard let sequence = FieldParser.number(fields[5]), sequence >= 1 else {
            throw CoalitionError(.badHeader, "'\(text(5))' is not a batch sequence number (1 or more)", at: place)
        }
        guard let createdAt = FieldParser.time(fields[6]) else {
            throw CoalitionError(.badHeader, "'\(text(6))' is not a UTC time YYYY-MM-DDTHH:MM:SSZ", at: place)
        }
        guard RecordKey.isValidID(text(7)), fields[7].count <= 32 else {
            throw CoalitionError(.badHeader, "'\(text(7))' is not a key id", at: place)
        }
        self.init(
            kind: kind,
            partner: partner,
            sequence: sequence,
            createdAt: createdAt,
            keyID: text(7),
            version: version
        )
    }
}

/// Field syntax shared by every file of the family, over bytes.
package enum FieldParser {
    /// `0` or digits without a leading zero, at most 18 of them; nil otherwise.
    package static func number<C: Collection>(_ bytes: C) -> Int64? where C.Element == UInt8 {
        let count = bytes.count
        guard count >= 1, count <= 18 else { return nil }
        if count > 1 && bytes.first == 48 { return nil }
        var value: Int64 = 0
        for byte in bytes {
            let digit = Int64(byte) &- 48
            guard digit >= 0 && digit <= 9 else { return nil }
            value = value &* 10 &+ digit
        }
        return value
    }

    /// A signed number: an optional `-` then `number`.
    package static func signedNumber<C: Collection>(_ bytes: C) -> Int64? where C.Element == UInt8 {
        if bytes.first == UInt8(ascii: "-") {
            guard let magnitude = number(bytes.dropFirst()), magnitude > 0 else { return nil }
            return -magnitude
        }
        return number(bytes)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`; nil otherwise.
    package static func time<C: Collection>(_ bytes: C) -> Timestamp? where C.Element == UInt8 {
        if let fast = bytes.withContiguousStorageIfAvailable({ time($0) }) { return fast }
        return Array(bytes).withUnsafeBufferPointer { time($0) }
    }

    package static func time(_ b: UnsafeBufferPointer<UInt8>) -> Timestamp? {
        guard b.count == 20 else { return nil }
        func digits(_ from: Int, _ count: Int) -> Int? {
            var value = 0
            for i in from..<(from + count) {
                let d = Int(b[i]) &- 48
                guard d >= 0 && d <= 9 else { return nil }
                value = value &* 10 &+ d
            }
            return value
        }
        guard b[4] == 45, b[7] == 45, b[10] == 84, b[13] == 58, b[16] == 58, b[19] == 90,
            let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2),
            let hour = digits(11, 2), let minute = digits(14, 2), let second = digits(17, 2)
        else { return nil }
        return try? Timestamp(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    }

    /// Free text with `%`, `|` and control characters written as `%XX`.
    package static func escape(_ text: String) -> String {
        var out = [UInt8]()
        for byte in text.utf8 {
            if byte == 37 || byte == 124 || byte < 32 || byte == 127 {
                let hex = Array("0123456789ABCDEF".utf8)
                out += [37, hex[Int(byte >> 4)], hex[Int(byte & 15)]]
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The text of an escaped field, or nil if an escape is malformed or the result is not
    /// UTF-8.
    package static func unescape<C: Collection>(_ bytes: C) -> String? where C.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count)
        var iterator = bytes.makeIterator()
        while let byte = iterator.next() {
            if byte == 37 {
                guard let high = iterator.next(), let low = iterator.next(),
                    let decoded = Hex.decode([high, low])
                else { return nil }
                out.append(decoded[0])
            } else {
                out.append(byte)
            }
        }
        return String(validating: out, as: UTF8.self)
    }
}
