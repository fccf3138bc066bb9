import CoalitionKit

extension SettlementFile {
    /// Writes `records` of `header.partner` as a settlement file at `path`, with its trailer,
    /// signed with `key` (or unsigned when nil, for `coalition sign`).
    @discardableResult
    package static func write<S: Sequence>(
        _ records: S,
        header: FileHeader,
        key: [UInt8]?,
        to path: String,
        reference: (LedgerRecord) -> String = { _ in "" }
    ) throws -> [UInt8] where S.Element == LedgerRecord {
        let writer = try SignedFileWriter(path: path, key: key)
        var totals = ControlTotals()
        try writer.line(header.line)
        for record in records {
            count(record, into: &totals)
            try writer.line(line(for: record, reference: reference(record)))
        }
        try writer.line(totals.line)
        return try writer.finish()
    }
}

/// Signing and checking files by hand: the partner's side of the format.
package enum FileSigning {
    /// Appends the signature line to the unsigned file at `path`; returns the signature.
    package static func sign(path: String, key: [UInt8]) throws -> [UInt8] {
        let scanner = try FileScanner(path: path)
        let start = try scanner.prefix(2)
        guard !start.isEmpty else { throw CoalitionError(.emptyFile, "the file is empty", at: Place(file: path)) }
        let mac = try HMACSHA256(key: key)
        let scanned = try scanner.scan(mac: mac)
        if scanned.lastLine.starts(with: Array("S|".utf8)) {
            throw CoalitionError(
                .badTrailer,
                "the file is already signed",
                at: Place(file: path, line: scanned.lineCount)
            )
        }
        mac.update(scanned.lastLine)
        mac.update([SettlementFormat.newline])
        let signature = mac.finish()
        let writer = try AppendingWriter(path: path)
        try writer.append("S|\(Hex.encode(signature))\n")
        return signature
    }

    /// Checks the header, key and signature of a file of one of `kinds` under the network's
    /// key rings; returns its header.
    package static func verify(
        path: String,
        kinds: Set<FileKind>,
        network: Network,
        keyRing: (Partner) throws -> KeyRing
    ) throws -> FileHeader {
        try verify(path: path, kinds: kinds) { header in
            let partner = try network.partner(header.partner)
            guard let key = try keyRing(partner).key(id: header.keyID) else {
                throw CoalitionError(.unknownKey, "\(partner.id) has no key '\(header.keyID)'", at: Place(line: 1))
            }
            return key.secret
        }
    }

    /// Checks a file of one of `kinds` under `key` alone: what a partner holding one key does.
    package static func verify(path: String, kinds: Set<FileKind>, key: [UInt8]) throws -> FileHeader {
        try verify(path: path, kinds: kinds) { _ in key }
    }

    static func verify(path: String, kinds: Set<FileKind>, secret: (FileHeader) throws -> [UInt8]) throws -> FileHeader
    {
        try at(Place(file: path)) {
            let scanner = try FileScanner(path: path)
            let start = try scanner.prefix(SettlementFormat.maximumLineLength + 1)
            guard !start.isEmpty else { throw CoalitionError(.emptyFile, "the file is empty") }
            guard let end = start.firstIndex(of: SettlementFormat.newline) else {
                throw CoalitionError(.badHeader, "the first line does not end", at: Place(line: 1))
            }
            let header = try FileHeader(line: start[0..<end], expecting: kinds)
            let mac = try HMACSHA256(key: try secret(header))
            let scanned = try scanner.scan(mac: mac) { line, number in
                try SettlementLines.checkEncoding(line, number: number)
            }
            let signature = try SettlementLines.signature(in: scanned.lastLine, line: scanned.lineCount)
            guard constantTimeEqual(mac.finish(), signature) else {
                throw CoalitionError(
                    .badSignature,
                    "the signature does not match the file's bytes under key \(header.keyID)",
                    at: Place(line: scanned.lineCount)
                )
            }
            return header
        }
    }
}
