import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

@testable import CoalitionPostgreSQL

// The writer lease on its own: one holder at a time, and a batch that commits only under
// the epoch its store was fenced with. Runs only where COALITION_TEST_POSTGRESQL names a
// server (`bash .ci/postgres`).
@Suite(
    "PostgreSQL writer lease: one holder, fenced commits, commands refused while a server writes",
    .enabled(if: StoreEngine.isPostgreSQLConfigured, StoreEngine.howToRunPostgreSQL)
)
struct PostgreSQLWriterLeaseTests {
    func lease(_ place: LedgerPlace, _ holder: String) throws -> WriterLease {
        try WriterLease(
            conninfo: StoreEngine.postgreSQLServer ?? "",
            holder: holder,
            overrides: [("dbname", place.databaseNameForTesting)]
        )
    }

    /// Makes the lease run out now, as it does for a writer paused (SIGSTOP) past it.
    func expire(_ place: LedgerPlace) throws {
        try place.executeRaw("UPDATE writer_lease SET expires_at = clock_timestamp() - interval '1 second'")
    }

    func store(_ place: LedgerPlace) throws -> PostgreSQLStore {
        try #require(try place.open() as? PostgreSQLStore)
    }

    @Test("the lease has one holder: taken only once it runs out or is released, each time with a newer epoch")
    func oneHolder() throws {
        let place = try LedgerPlace(.postgresql)
        defer { place.remove() }
        _ = try place.create()
        let first = try lease(place, "first")
        let second = try lease(place, "second")
        let epoch = try #require(try first.acquire())
        #expect(try second.acquire() == nil)
        #expect(try first.renew())
        #expect(try second.currentHolder().holder == "first")
        #expect(try second.currentHolder().isLive)
        try expire(place)
        let newer = try #require(try second.acquire())
        #expect(newer == epoch + 1)
        // The first holder learns it lost the lease at its next renewal, and cannot take it
        // back while the second holds it.
        #expect(try first.renew() == false)
        #expect(first.epoch == nil)
        #expect(try first.acquire() == nil)
        // A release hands it over at once.
        try second.release()
        #expect(try first.acquire() == newer + 1)
    }

    @Test(
        "a writer that lost its lease cannot commit, before or during its batch; the ledger is unchanged",
        arguments: [false, true]
    )
    func fencedWriter(takenDuringBatch: Bool) throws {
        let place = try LedgerPlace(.postgresql)
        defer { place.remove() }
        let records = Fixtures.activity(seed: 19, members: 20, records: 300)
        _ = try place.create()
        let old = try lease(place, "old")
        let oldEpoch = try #require(try old.acquire())
        let oldStore = try store(place)
        oldStore.fence(epoch: oldEpoch)
        let oldLedger = try Ledger(network: Fixtures.network, store: oldStore)
        try oldLedger.apply(Array(records.prefix(100)), info: Fixtures.info)

        // The old writer pauses past its lease; a standby takes it over and writes.
        try expire(place)
        let new = try lease(place, "new")
        let newEpoch = try #require(try new.acquire())
        let newStore = try store(place)
        newStore.fence(epoch: newEpoch)
        let newLedger = try Ledger(network: Fixtures.network, store: newStore)
        try newLedger.apply(Array(records[100..<200]), info: Fixtures.info)
        let dump = try store(place).contentDump()

        var writer = newLedger
        if takenDuringBatch {
            // The writer's batch began under its lease (the check at the start passed), and
            // the lease is taken over before it commits: the commit is what is refused.
            try newStore.begin()
            try expire(place)
            let third = try lease(place, "third")
            let thirdEpoch = try #require(try third.acquire())
            let summary = BatchSummary(id: newLedger.state.lastBatch + 1, info: Fixtures.info)
            let error = expectError(.writerFenced) { try newStore.finish(summary) }
            #expect(error?.message.contains("epoch \(newEpoch)") == true)
            let thirdStore = try store(place)
            thirdStore.fence(epoch: thirdEpoch)
            writer = try Ledger(network: Fixtures.network, store: thirdStore)
        } else {
            let error = expectError(.writerFenced) {
                try oldLedger.apply(Array(records[200...]), info: Fixtures.info)
            }
            #expect(error?.message.contains("epoch \(oldEpoch)") == true)
        }
        #expect(try store(place).contentDump() == dump)
        // The writer holding the lease goes on, and the ledger audits clean.
        try writer.apply(Array(records[200...]), info: Fixtures.info)
        #expect(try Audit.run(Ledger(network: Fixtures.network, store: try store(place))).isClean)
    }

    @Test("a command's batch is LEDGER_BUSY while a server holds the lease, and writes once it is released")
    func commandWhileServing() throws {
        let place = try LedgerPlace(.postgresql)
        defer { place.remove() }
        let records = Fixtures.activity(seed: 20, members: 10, records: 100)
        let command = try Ledger(network: Fixtures.network, store: try place.create())
        let server = try lease(place, "serve")
        _ = try #require(try server.acquire())
        let dump = try store(place).contentDump()
        let error = expectError(.ledgerBusy) { try command.apply(records, info: Fixtures.info) }
        #expect(error?.message.contains("serve") == true)
        #expect(try store(place).contentDump() == dump)
        try server.release()
        try command.apply(records, info: Fixtures.info)
        #expect(try Audit.run(command).isClean)
    }
}
