import CoalitionKit
import CoalitionSQLite
import CoalitionTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("WriterLock: one writer per data directory")
struct WriterLockTests {
    @Test("a second writer is refused with LEDGER_BUSY, at once or after its wait; a release lets the next in")
    func oneWriter() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let first = try WriterLock.acquire(dataDirectory: directory.path, waitSeconds: 0)
        #expect(first.isHeld)
        for wait in [0, 1] {
            do {
                _ = try WriterLock.acquire(dataDirectory: directory.path, waitSeconds: wait)
                Issue.record("a second writer took the lock (wait \(wait))")
            } catch let error as CoalitionError {
                #expect(error.code == .ledgerBusy)
                #expect(error.message.contains("process \(getpid())"), "\(error)")
            }
        }
        first.release()
        #expect(!first.isHeld)
        var second: WriterLock? = try WriterLock.acquire(dataDirectory: directory.path, waitSeconds: 0)
        // Released when it goes away, too.
        second = nil
        #expect(try WriterLock.acquire(dataDirectory: directory.path, waitSeconds: 0).isHeld)
        _ = second
    }

    @Test("a missing data directory is IO_ERROR, not a lock taken somewhere else")
    func missingDirectory() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(throws: CoalitionError.self) {
            try WriterLock.acquire(dataDirectory: directory.file("absent"), waitSeconds: 0)
        }
    }
}

@Suite("SQLiteStore: integrity before writing, and the tables outside the hash chain")
struct StoreCheckTests {
    @Test("a sound store passes; one with a zeroed page is LEDGER_DAMAGED")
    func integrity() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let ledger = try Ledger(
            network: Fixtures.network,
            store: try SQLiteStore(path: directory.ledgerPath, create: true)
        )
        for batch in Fixtures.batches(Fixtures.activity(seed: 5, members: 40, records: 600), seed: 5) {
            try ledger.apply(batch, info: Fixtures.info)
        }
        let store = ledger.store as! SQLiteStore
        try store.checkIntegrity()
        #expect(try store.derivedTableProblems(tiers: Fixtures.network.tiers) == [])
        try store.executeForTesting("PRAGMA wal_checkpoint(TRUNCATE)")
        let size = try #require(FileManager.default.attributesOfItem(atPath: directory.ledgerPath)[.size] as? Int)
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: directory.ledgerPath))
        try handle.seek(toOffset: UInt64(size / 2 / 16_384 * 16_384))
        handle.write(Data(repeating: 0, count: 16_384))
        try handle.close()
        let reopened = try SQLiteStore(path: directory.ledgerPath)
        #expect {
            try reopened.checkIntegrity()
        } throws: { error in
            (error as? CoalitionError)?.code == .ledgerDamaged
        }
    }
}
