import CoalitionKit
import CoalitionSQLite
import CoalitionTestSupport
import Foundation
import Testing

/// Storage faults injected into a batch at each of its steps: the ledger is left exactly as
/// before (the fault reported as STORE_FAILURE) or, when the step was not reached, exactly as
/// after: never between. "Exactly" is every row of every table and the engine's state,
/// compared with a ledger that applied the same batches without a fault.
@Suite("Fault injection: a failed step of a batch leaves the ledger exactly before or exactly after")
struct FaultInjectionTests {
    /// Every table a batch writes.
    static let tables = [
        "postings", "lots", "accounts", "members", "qualifying", "obligations", "batches", "rejections",
        "reversed", "expired_lots", "tier_changes", "counters",
    ]

    struct Pair {
        let faulty: Ledger
        let faultyStore: SQLiteStore
        let reference: Ledger
        let referenceStore: SQLiteStore
        let directory: TemporaryDirectory
    }

    func pair(seed: UInt64) throws -> (Pair, [[LedgerRecord]]) {
        let directory = try TemporaryDirectory()
        let faultyStore = try SQLiteStore(path: directory.file("faulty.sqlite"), create: true)
        let referenceStore = try SQLiteStore(path: directory.file("reference.sqlite"), create: true)
        let pair = Pair(
            faulty: try Ledger(network: Fixtures.network, store: faultyStore),
            faultyStore: faultyStore,
            reference: try Ledger(network: Fixtures.network, store: referenceStore),
            referenceStore: referenceStore,
            directory: directory
        )
        return (pair, Fixtures.batches(Fixtures.activity(seed: seed, members: 40, records: 700), seed: seed))
    }

    /// Applies `batch` to the faulty ledger with `fault` armed and `clear` run after: the
    /// ledger must be exactly as before (a STORE_FAILURE) or exactly as the reference after.
    func expectBeforeOrAfter(
        _ pair: Pair,
        _ batch: [LedgerRecord],
        what: String,
        fault: () throws -> Void,
        clear: () throws -> Void
    ) throws -> Bool {
        let before = try pair.faultyStore.contentDump()
        let beforeState = StateImage(pair.faulty.state)
        try fault()
        var failed = false
        do {
            _ = try pair.faulty.apply(batch, info: Fixtures.info)
        } catch let error as CoalitionError {
            #expect(error.code == .storeFailure, "\(what): \(error)")
            failed = true
        }
        try clear()
        if failed {
            #expect(try pair.faultyStore.contentDump() == before, "\(what)")
            #expect(StateImage(pair.faulty.state) == beforeState, "\(what)")
            _ = try pair.faulty.apply(batch, info: Fixtures.info)
        }
        _ = try pair.reference.apply(batch, info: Fixtures.info)
        #expect(try pair.faultyStore.contentDump() == pair.referenceStore.contentDump(), "\(what)")
        #expect(StateImage(pair.faulty.state) == StateImage(pair.reference.state), "\(what)")
        return failed
    }

    @Test(
        "a write refused at each table, by insert and by update, over seeded batches",
        arguments: [31, 32] as [UInt64]
    )
    func failedStep(seed: UInt64) throws {
        let (pair, batches) = try pair(seed: seed)
        defer { pair.directory.remove() }
        var failures = 0
        var index = 0
        for (batchIndex, batch) in batches.enumerated() {
            let table = Self.tables[index % Self.tables.count]
            let operation = index / Self.tables.count % 2 == 0 ? "INSERT" : "UPDATE"
            index += 1
            let trigger = "fault_\(table)"
            failures +=
                try expectBeforeOrAfter(
                    pair,
                    batch,
                    what: "batch \(batchIndex), \(operation) on \(table)",
                    fault: {
                        try pair.faultyStore.executeForTesting(
                            "CREATE TRIGGER \(trigger) BEFORE \(operation) ON \(table) BEGIN SELECT RAISE(ABORT, 'injected'); END"
                        )
                    },
                    clear: { try pair.faultyStore.executeForTesting("DROP TRIGGER \(trigger)") }
                ) ? 1 : 0
        }
        // The faults were reached, not only armed.
        #expect(failures >= batches.count / 4, "\(failures) of \(batches.count)")
        #expect(try Audit.run(pair.faulty).isClean)
    }

    @Test("a full disk at seeded points of the batches (SQLITE_FULL, pages refused as a full device refuses them)")
    func diskFull() throws {
        let (pair, batches) = try pair(seed: 33)
        defer { pair.directory.remove() }
        var failures = 0
        for (batchIndex, batch) in batches.enumerated() {
            failures +=
                try expectBeforeOrAfter(
                    pair,
                    batch,
                    what: "batch \(batchIndex), disk full",
                    fault: {
                        try pair.faultyStore.executeForTesting("PRAGMA wal_checkpoint(TRUNCATE)")
                        try pair.faultyStore.executeForTesting(
                            "PRAGMA max_page_count = \(batchIndex % 3 == 0 ? 1 : 1_000_000)"
                        )
                    },
                    clear: { try pair.faultyStore.executeForTesting("PRAGMA max_page_count = 1000000000") }
                ) ? 1 : 0
        }
        #expect(failures > 0)
        #expect(try Audit.run(pair.faulty).isClean)
    }

    @Test("a busy database (another connection holds the write lock): refused, nothing half-written")
    func busy() throws {
        let (pair, batches) = try pair(seed: 34)
        defer { pair.directory.remove() }
        let other = try RawConnection(path: pair.faultyStore.path)
        var failures = 0
        let tried = batches.prefix(12)
        for (batchIndex, batch) in tried.enumerated() {
            failures +=
                try expectBeforeOrAfter(
                    pair,
                    batch,
                    what: "batch \(batchIndex), busy",
                    fault: { if batchIndex % 2 == 0 { try other.execute("BEGIN IMMEDIATE") } },
                    clear: { if batchIndex % 2 == 0 { try other.execute("ROLLBACK") } }
                ) ? 1 : 0
        }
        #expect(failures == (tried.count + 1) / 2, "\(failures) of \(tried.count)")
    }
}
