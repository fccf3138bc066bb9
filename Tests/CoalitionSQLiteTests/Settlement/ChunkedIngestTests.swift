import CoalitionFiles
import CoalitionKit
import CoalitionSQLite
import CoalitionTestSupport
import Foundation
import Testing

/// A file is applied in chunks of `Ingestor.chunkRecords` inside one transaction: the
/// result must not depend on the chunk size, and a fault found at the end undoes every chunk.
@Suite("Settlement: streaming in chunks")
struct ChunkedIngestTests {
    /// Forty records whose reversals, redemptions and duplicate ids refer across chunk
    /// boundaries when chunks are small.
    static func body(prefix: String = "C", members: Range<Int> = 10..<18) -> [String] {
        var lines: [String] = []
        let numbers = members.map { SettlementMembers.number($0).description }
        for (index, number) in numbers.enumerated() {
            lines.append("ENROLL|\(prefix)-E\(index)|\(number)|2026-11-19T08:0\(index % 10):00Z|")
        }
        for (index, number) in numbers.enumerated() {
            lines.append("EARN|\(prefix)-A\(index)|\(number)|\(1000 + 101 * index)|2026-11-19T09:00:00Z|miles")
        }
        for (index, number) in numbers.enumerated() {
            lines.append("REDEEM|\(prefix)-B\(index)|\(number)|\(201 + 10 * index)|2026-11-19T10:00:00Z|")
        }
        for index in numbers.indices {
            let units = index % 2 == 0 ? "" : "\(50 + index)"
            lines.append("REVERSAL|\(prefix)-R\(index)|\(prefix)-A\(index)|\(units)|2026-11-19T11:00:00Z|")
        }
        // Faults: a duplicate id from the first chunk, a reversal of a reversal, a bad amount.
        lines.append("EARN|\(prefix)-A0|\(numbers[0])|10|2026-11-19T12:00:00Z|")
        lines.append("REVERSAL|\(prefix)-X1|\(prefix)-R1||2026-11-19T12:00:00Z|")
        lines.append("EARN|\(prefix)-X2|\(numbers[1])|0|2026-11-19T12:00:00Z|")
        for (index, number) in numbers.prefix(5).enumerated() {
            lines.append("EARN|\(prefix)-Z\(index)|\(number)|77|2026-11-19T13:00:00Z|")
        }
        return lines
    }

    @Test("the result does not depend on the chunk size", arguments: [1, 3, 7, 40])
    func chunkSizeDoesNotMatter(chunkRecords: Int) throws {
        let small = try SettlementScenario.afterBatchOne()
        let large = try SettlementScenario.afterBatchOne()
        let body = Self.body()
        #expect(body.count == 40)
        let smallResult = try small.ingestAccepted(
            try small.skywaysFile(sequence: 2, body: body, name: "SKYWAYS-000002.csf"),
            chunkRecords: chunkRecords
        )
        let largeResult = try large.ingestAccepted(
            try large.skywaysFile(sequence: 2, body: body, name: "SKYWAYS-000002.csf")
        )
        #expect(smallResult.summary?.records == 40)
        #expect(smallResult.summary?.rejected == 3)
        #expect(smallResult.summary == largeResult.summary)
        let smallAck = try SettlementAck.bytes(try #require(smallResult.acknowledgement))
        let largeAck = try SettlementAck.bytes(try #require(largeResult.acknowledgement))
        #expect(smallAck == largeAck)
        try small.image.expectEqual(try large.image)
        #expect(try Audit.run(small.ledger).isClean)
    }

    @Test("a trailer mismatch found after several chunks were applied leaves the ledger as it was")
    func faultAtTheEndUndoesEveryChunk() throws {
        let sandbox = try SettlementScenario.afterBatchOne()
        let key = try sandbox.secret("SKYWAYS-2026A")
        let body = Self.body().map { Array($0.utf8) }
        var trailer = SettlementBytes.trailer(body)
        trailer.append(contentsOf: Array("0".utf8))  // the REVERSAL total, ten times too large
        let path = try sandbox.file(
            try SettlementBytes.signing([SettlementBytes.header(sequence: 2)] + body + [trailer], key: key)
        )
        let before = try sandbox.image
        let outbox = try sandbox.outboxNames()
        var seen: [Int64] = []
        var ingestor = sandbox.ingestor(chunkRecords: 7)
        ingestor.progress = { _ in seen.append(sandbox.ledger.state.lastSeq) }
        let result = try ingestor.ingest(path: path, outbox: sandbox.outbox)
        #expect(result.settlementRejectionCode == .trailerTotalMismatch)
        // Chunks went through the engine before the trailer was read ...
        #expect(seen.count >= 5)
        #expect(seen.contains { $0 > before.lastSeq + 20 })
        // ... and nothing of them is left, in memory or in the store.
        try sandbox.expectUnchanged(since: before)
        #expect(try sandbox.outboxNames() == outbox + ["SKYWAYS-000002-rejected-20261122T223129Z.ack"])
        let reopened = try Ledger(network: sandbox.network, store: sandbox.store)
        #expect(reopened.state.records == before.records)
        #expect(reopened.state.lastHash == before.lastHash)

        // The corrected file, with the same batch number, goes through.
        let fixed = try sandbox.file(
            try SettlementBytes.file(header: SettlementBytes.header(sequence: 2), body: body, key: key)
        )
        let accepted = try sandbox.ingestAccepted(fixed, chunkRecords: 7)
        #expect(accepted.summary?.accepted == 37)
        #expect(try Audit.run(sandbox.ledger).isClean)
    }

    @Test("a count mismatch at the end after chunks, then the next valid file", arguments: [7, 16_384])
    func countMismatchThenNextFile(chunkRecords: Int) throws {
        let sandbox = try SettlementScenario.afterBatchOne()
        let key = try sandbox.secret("SKYWAYS-2026A")
        let body = Self.body().map { Array($0.utf8) }
        // One line lost before signing: the trailer still counts forty.
        let path = try sandbox.file(
            try SettlementBytes.signing(
                [SettlementBytes.header(sequence: 2)] + body.dropLast() + [SettlementBytes.trailer(body)],
                key: key
            )
        )
        let before = try sandbox.image
        let result = try sandbox.ingest(path, chunkRecords: chunkRecords)
        #expect(result.settlementRejectionCode == .trailerCountMismatch)
        try sandbox.expectUnchanged(since: before)
        let next = try sandbox.skywaysFile(sequence: 2, body: SettlementScenario.batchTwoBody)
        let accepted = try sandbox.ingestAccepted(next, chunkRecords: chunkRecords)
        #expect(accepted.summary?.accepted == 10)
    }
}
