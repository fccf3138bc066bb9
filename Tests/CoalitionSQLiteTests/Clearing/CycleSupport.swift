import CoalitionFiles
import CoalitionKit
import CoalitionSQLite
import Foundation
import Testing

/// A closed cycle in a form that compares as a whole: every field of `ClearingCycle`.
struct CycleImage: Equatable, CustomStringConvertible {
    struct Clearing: Equatable {
        let currency: String
        let gross: [PartnerID: [PartnerID: Int64]]
        let net: [Participant: Int64]
        let fees: [PartnerID: Int64]
        let centralCounterparty: [SettlementInstruction]
        let fewestPayments: [SettlementInstruction]

        init(_ clearing: CurrencyClearing) {
            currency = clearing.currency.code
            gross = clearing.gross
            net = clearing.net
            fees = clearing.fees
            centralCounterparty = clearing.centralCounterparty
            fewestPayments = clearing.fewestPayments
        }
    }

    let number: Int64
    let through: Timestamp
    let closedAt: Timestamp
    let watermark: Int64
    let obligationCount: Int
    let postingSeq: Int64
    let clearings: [Clearing]
    let batches: [BatchReference]

    init(_ cycle: ClearingCycle) {
        number = cycle.number
        through = cycle.through
        closedAt = cycle.closedAt
        watermark = cycle.watermark
        obligationCount = cycle.obligationCount
        postingSeq = cycle.postingSeq
        clearings = cycle.clearings.map(Clearing.init)
        batches = cycle.batches
    }

    var description: String {
        "cycle \(number) through \(through): \(obligationCount) obligations, "
            + "\(clearings.map { "\($0.currency) \($0.net.sorted { $0.key < $1.key })" })"
    }
}

extension CycleCloser.Result {
    var closedCycle: ClearingCycle? {
        if case .closed(let cycle) = self { return cycle }
        return nil
    }

    var alreadyClosedCycle: ClearingCycle? {
        if case .alreadyClosed(let cycle) = self { return cycle }
        return nil
    }
}

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
        #expect(try Audit.run(ledger).problems == [], sourceLocation: sourceLocation)
        var open: [AccountKey: Int64] = [:]
        for o in try store.obligations(openOnly: true) {
            open[AccountKey(Account.receivable(o.creditor), o.currency.code), default: 0] += o.amount
            open[AccountKey(Account.payable(o.debtor), o.currency.code), default: 0] -= o.amount
        }
        let held = ledger.state.accounts.filter {
            ($0.key.account.hasPrefix("receivable:") || $0.key.account.hasPrefix("payable:")) && $0.value != 0
        }
        #expect(held == open.filter { $0.value != 0 }, sourceLocation: sourceLocation)
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
