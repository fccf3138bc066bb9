import CoalitionKit

extension Reconciliation {
    /// Verifies the file at `path` and matches it against the ledger.
    package static func reconcile(
        path: String,
        ledger: Ledger,
        keyRing: (Partner) throws -> KeyRing
    ) throws
        -> ReconciliationReport
    {
        let header = try FileSigning.verify(
            path: path,
            kinds: [.reconciliation],
            network: ledger.network,
            keyRing: keyRing
        )
        guard try ledger.store.cycles().contains(where: { $0.number == header.sequence }) else {
            throw CoalitionError(.badHeader, "cycle \(header.sequence) is not closed", at: Place(file: path, line: 1))
        }
        let entries = try read(path: path)
        return try match(entries, partner: header.partner, cycle: header.sequence, ledger: ledger)
    }

    /// The entries of a (verified) reconciliation file, with their line numbers.
    static func read(path: String) throws -> [(line: Int, entry: Entry)] {
        var reader = EntryReader()
        _ = try at(Place(file: path)) {
            try FileScanner(path: path).scan(mac: nil) { bytes, number in
                try reader.take(bytes, number: number)
            }
        }
        return try reader.finish(path: path)
    }

    /// Writes a reconciliation file for `partner`'s view of `cycle`.
    @discardableResult
    package static func write(_ entries: [Entry], header: FileHeader, key: [UInt8], to path: String) throws -> [UInt8] {
        let writer = try SignedFileWriter(path: path, key: key)
        for line in lines(entries, header: header) { try writer.line(line) }
        return try writer.finish()
    }
}
