import CoalitionFiles
import CoalitionKit
import CoalitionSQLite
import CoalitionTestSupport
import Foundation
import Testing

/// All accepted records of a file, its batch row and its acknowledgement are committed
/// together: when the commit fails, nothing of the file is left anywhere.
@Suite("Settlement: a failing commit")
struct IngestCommitFailureTests {
    static let failBatches = """
        CREATE TRIGGER fail_batches BEFORE INSERT ON batches
        BEGIN SELECT RAISE(ABORT, 'injected: the disk is full'); END
        """

    @Test("a commit that fails leaves no acknowledgement and no change; the retry applies once")
    func commitFails() throws {
        let sandbox = try SettlementScenario.afterBatchOne()
        let path = try sandbox.file(try SettlementScenario.batchTwo(sandbox), name: "SKYWAYS-000002.csf")
        let before = try sandbox.image
        let outbox = try sandbox.outboxNames()
        try sandbox.store.executeForTesting(Self.failBatches)
        let beforeWithTrigger = try sandbox.image

        for chunkRecords in [3, 16_384] {
            let error = try #require(throws: CoalitionError.self) {
                try sandbox.ingest(path, chunkRecords: chunkRecords)
            }
            #expect(error.code == .storeFailure, "\(error)")
            #expect(try sandbox.outboxNames() == outbox)
            try sandbox.expectUnchanged(since: beforeWithTrigger)
            let reopened = try Ledger(network: sandbox.network, store: sandbox.store)
            #expect(reopened.state.records == before.records)
            #expect(reopened.state.members == before.members)
        }

        try sandbox.store.executeForTesting("DROP TRIGGER fail_batches")
        try sandbox.expectUnchanged(since: before)
        let result = try sandbox.ingestAccepted(path)
        #expect(result.summary?.accepted == 10)
        #expect(try sandbox.outboxNames() == outbox + ["SKYWAYS-000002.ack"])
        let ack = try SettlementAck.bytes(try #require(result.acknowledgement))
        let after = try sandbox.image
        #expect(after.lastSeq == before.lastSeq + 10)

        let replay = try sandbox.ingest(path)
        #expect(replay.status == .duplicate)
        #expect(try SettlementAck.bytes(try #require(replay.acknowledgement)) == ack)
        try sandbox.expectUnchanged(since: after)
        #expect(try Audit.run(sandbox.ledger).isClean)
    }

    @Test("a failing write of postings in the middle of a file changes nothing")
    func chunkWriteFails() throws {
        let sandbox = try SettlementScenario.afterBatchOne()
        let path = try sandbox.file(try SettlementScenario.batchTwo(sandbox))
        // The sixth posting of the file cannot be written.
        try sandbox.store.executeForTesting(
            """
            CREATE TRIGGER fail_postings BEFORE INSERT ON postings WHEN NEW.seq = \(sandbox.ledger.state.lastSeq + 6)
            BEGIN SELECT RAISE(ABORT, 'injected: I/O error'); END
            """
        )
        let before = try sandbox.image
        let outbox = try sandbox.outboxNames()
        let error = try #require(throws: CoalitionError.self) { try sandbox.ingest(path, chunkRecords: 2) }
        #expect(error.code == .storeFailure)
        #expect(try sandbox.outboxNames() == outbox)
        try sandbox.expectUnchanged(since: before)
        try sandbox.store.executeForTesting("DROP TRIGGER fail_postings")
        try sandbox.ingestAccepted(path, chunkRecords: 2)
    }
}
