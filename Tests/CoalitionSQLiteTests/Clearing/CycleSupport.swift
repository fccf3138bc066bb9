import CoalitionFiles
import CoalitionKit
import CoalitionSQLite
import CoalitionTestSupport
import Foundation
import Testing

/// Records with explicit times for one scenario, with ids that never repeat.
struct Records {
    var counter = 0

    mutating func make(_ partner: PartnerID, _ time: String, _ body: LedgerRecord.Body) -> LedgerRecord {
        counter += 1
        return LedgerRecord(
            key: try! RecordKey(partner: partner, recordID: "S\(counter)"),
            occurredAt: Fixtures.time(time),
            body: body
        )
    }
}

/// A ledger in a temporary directory, on the demo network or one like it.
struct CycleLedger {
    let directory: TemporaryDirectory
    let network: Network
    var store: SQLiteStore
    var ledger: Ledger
    var sequences: [PartnerID: Int64] = [:]

    init(network: Network = Fixtures.network) throws {
        directory = try TemporaryDirectory()
        self.network = network
        store = try SQLiteStore(path: directory.ledgerPath, create: true)
        ledger = try Ledger(network: network, store: store)
    }

    /// Applies `records` as one batch of `partner`'s (by default the first record's partner),
    /// numbered in turn.
    @discardableResult
    mutating func apply(_ records: [LedgerRecord], as partner: PartnerID? = nil) throws -> [RecordOutcome] {
        let partner = partner ?? records[0].key.partner
        sequences[partner, default: 0] += 1
        let info = BatchInfo(
            partner: partner,
            sequence: sequences[partner]!,
            source: "test",
            receivedAt: Fixtures.info.receivedAt
        )
        return try ledger.apply(records, info: info)
    }

    mutating func accept(_ record: LedgerRecord, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let outcome = try apply([record])[0]
        #expect(outcome.isAccepted, "\(record.key): \(outcome)", sourceLocation: sourceLocation)
    }

    func close(_ through: String, now: String = "2026-04-02T09:00:00Z") throws -> CycleCloser.Result {
        try CycleCloser.close(ledger, through: Fixtures.time(through), now: Fixtures.time(now))
    }

    /// Closes the store and opens the ledger again from the file.
    mutating func reopen() throws {
        store = try SQLiteStore(path: directory.ledgerPath)
        ledger = try Ledger(network: network, store: store)
    }

    /// A clean audit, and receivables and payables that are exactly the open obligations.
    func expectBooks(sourceLocation: SourceLocation = #_sourceLocation) throws {
        try expectBooksAfterClose(ledger, sourceLocation: sourceLocation)
    }

    func remove() { directory.remove() }
}

/// The demo network with another clearing fee: its partners/ copied, the fee changed.
func network(feeBasisPoints: Int64) throws -> Network {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let copy = directory.file("partners")
    try FileManager.default.copyItem(
        atPath: (Fixtures.packageRoot as NSString).appendingPathComponent("partners"),
        toPath: copy
    )
    let path = (copy as NSString).appendingPathComponent("network.json")
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let changed = text.replacingOccurrences(
        of: "\"feeBasisPoints\": 10,",
        with: "\"feeBasisPoints\": \(feeBasisPoints),"
    )
    try #require(changed != text || feeBasisPoints == 10, "network.json has no fee of 10 bp to change")
    try changed.write(toFile: path, atomically: true, encoding: .utf8)
    let loaded = try NetworkLoader.load(directory: copy)
    try #require(loaded.clearing.feeBasisPoints == feeBasisPoints)
    return loaded
}
