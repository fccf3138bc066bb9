import CoalitionKit
import CoalitionSQLite
import CoalitionTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("SQLiteStore: the saved state file opens the ledger only when it is exactly the tables' state")
struct StateFileTests {
    /// A ledger in `directory` with seeded activity, and the state as the tables hold it.
    func makeLedger(in directory: TemporaryDirectory, seed: UInt64) throws -> Ledger {
        let ledger = try Ledger(
            network: Fixtures.network,
            store: try SQLiteStore(path: directory.ledgerPath, create: true)
        )
        for batch in Fixtures.batches(Fixtures.activity(seed: seed, members: 60, records: 900), seed: seed) {
            try ledger.apply(batch, info: Fixtures.info)
        }
        return ledger
    }

    func open(_ directory: TemporaryDirectory) throws -> (Ledger, SQLiteStore) {
        let store = try SQLiteStore(path: directory.ledgerPath)
        return (try Ledger(network: Fixtures.network, store: store), store)
    }

    @Test("a saved state opens the ledger exactly as the tables would, and is not written twice")
    func roundTrip() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let ledger = try makeLedger(in: directory, seed: 21)
        let store = ledger.store as! SQLiteStore
        #expect(ledger.state.members.values.contains { !$0.lots.isEmpty && !$0.qualifying.isEmpty })
        #expect(ledger.state.members.values.contains { !$0.debts.isEmpty } || ledger.state.lastSeq > 500)
        try ledger.saveState()
        #expect(FileManager.default.fileExists(atPath: store.stateFilePath))

        let (reopened, reopenedStore) = try open(directory)
        #expect(reopenedStore.loadedFromStateFile)
        #expect(StateImage(reopened.state) == StateImage(ledger.state))
        #expect(StateImage(reopened.state) == StateImage(try reopenedStore.loadFromTables()))
        #expect(try reopenedStore.stateFileProblems(reopened.state) == [])
        #expect(try Audit.run(reopened).isClean)
        // Nothing changed: neither store writes the file again (so one removed stays removed).
        try FileManager.default.removeItem(atPath: store.stateFilePath)
        try reopened.saveState()
        try ledger.saveState()
        #expect(!FileManager.default.fileExists(atPath: store.stateFilePath))
    }

    @Test("any committed batch after the save makes the file stale; a failed one does not")
    func stale() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let ledger = try makeLedger(in: directory, seed: 22)
        try ledger.saveState()
        // A batch that fails to commit leaves the ledger, and so the file, as they were.
        let member = ledger.state.members.keys.sorted()[0]
        let earn = LedgerRecord(
            key: try RecordKey(partner: try PartnerID("SKYWAYS"), recordID: "after-save"),
            occurredAt: Fixtures.time("2026-11-01T00:00:00Z"),
            body: .earn(member: member, units: 1_000)
        )
        #expect(throws: CoalitionError.self) {
            try ledger.batch(Fixtures.info) { session in
                _ = try session.apply([earn])
                throw CoalitionError(.storeFailure, "the front end gave up")
            }
        }
        do {
            let (_, store) = try open(directory)
            #expect(store.loadedFromStateFile)
        }
        // A batch whose only record is rejected still commits (its row and rejection).
        let rejected = try ledger.apply(
            [LedgerRecord(key: earn.key, occurredAt: earn.occurredAt, body: .redeem(member: member, units: 1 << 40))],
            info: Fixtures.info
        )
        #expect(!rejected[0].isAccepted)
        do {
            let (reopened, store) = try open(directory)
            #expect(!store.loadedFromStateFile)
            #expect(StateImage(reopened.state) == StateImage(ledger.state))
        }
        // So does a batch that changes members: the tables' state, not the old file's, opens.
        try ledger.apply([earn], info: Fixtures.info)
        let (reopened, store) = try open(directory)
        #expect(!store.loadedFromStateFile)
        #expect(StateImage(reopened.state) == StateImage(ledger.state))
        // Saving the new state makes the file current again.
        try reopened.saveState()
        #expect(try open(directory).1.loadedFromStateFile)
    }

    @Test("a damaged, cut short or foreign state file is not used: the tables open the ledger")
    func damaged() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let ledger = try makeLedger(in: directory, seed: 23)
        try ledger.saveState()
        let path = (ledger.store as! SQLiteStore).stateFilePath
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        let expected = StateImage(ledger.state)
        var random = SeededGenerator(seed: 23)
        var damaged: [(String, Data)] = [
            ("empty", Data()),
            ("cut short", good.prefix(good.count / 2)),
            ("without its checksum", good.prefix(good.count - 32)),
            ("with bytes after it", good + Data([0])),
            ("another file", Data("not a state file\n".utf8)),
        ]
        for _ in 0..<40 {
            var bytes = good
            let offset = Int.random(in: 0..<bytes.count, using: &random)
            bytes[offset] ^= UInt8.random(in: 1...255, using: &random)
            damaged.append(("byte \(offset) changed", bytes))
        }
        for (what, bytes) in damaged {
            try bytes.write(to: URL(fileURLWithPath: path))
            let (reopened, store) = try open(directory)
            #expect(!store.loadedFromStateFile, "\(what)")
            #expect(StateImage(reopened.state) == expected, "\(what)")
        }
        try good.write(to: URL(fileURLWithPath: path))
        #expect(try open(directory).1.loadedFromStateFile)
    }

    @Test("tables changed behind the ledger's back while the file looks current: the audit finds it")
    func auditComparesWithTables() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let ledger = try makeLedger(in: directory, seed: 24)
        try ledger.saveState()
        let store = ledger.store as! SQLiteStore
        try store.executeForTesting(
            "UPDATE lots SET expires_at = expires_at + 86400 WHERE id = (SELECT min(id) FROM lots)"
        )
        let (reopened, reopenedStore) = try open(directory)
        #expect(reopenedStore.loadedFromStateFile)
        let problems = try reopenedStore.stateFileProblems(reopened.state)
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("the state file's member ") == true)
    }

    @Test("a new ledger where an old one was does not take the old one's state file")
    func newLedger() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let old = try makeLedger(in: directory, seed: 25)
        try old.saveState()
        let path = (old.store as! SQLiteStore).stateFilePath
        #expect(FileManager.default.fileExists(atPath: path))
        for suffix in ["", "-wal", "-shm"] {
            try? FileManager.default.removeItem(atPath: directory.ledgerPath + suffix)
        }
        let store = try SQLiteStore(path: directory.ledgerPath, create: true)
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try Ledger(network: Fixtures.network, store: store).state.members.isEmpty)
    }
}

@Suite("SQLiteStore: a hostile state file costs a small read, never a block or a read of all its bytes")
struct HostileStateFileTests {
    @Test("a FIFO or a huge sparse file where the state file goes: the tables open the ledger")
    func hostile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let ledger = try StateFileTests().makeLedger(in: directory, seed: 29)
        try ledger.saveState()
        let path = (ledger.store as! SQLiteStore).stateFilePath
        let good = try Data(contentsOf: URL(fileURLWithPath: path))
        let expected = StateImage(ledger.state)

        // A FIFO: reading it would wait for a writer that never comes.
        try FileManager.default.removeItem(atPath: path)
        #expect(mkfifo(path, 0o600) == 0)
        var (reopened, store) = try StateFileTests().open(directory)
        #expect(!store.loadedFromStateFile)
        #expect(StateImage(reopened.state) == expected)

        // The good file, made 2 GiB long by a hole: beyond the size any real state has.
        try FileManager.default.removeItem(atPath: path)
        try good.write(to: URL(fileURLWithPath: path))
        #expect(truncate(path, 2 << 30) == 0)
        (reopened, store) = try StateFileTests().open(directory)
        #expect(!store.loadedFromStateFile)
        #expect(StateImage(reopened.state) == expected)
    }
}
