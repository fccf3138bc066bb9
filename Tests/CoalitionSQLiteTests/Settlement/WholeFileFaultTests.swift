import CoalitionFiles
import CoalitionKit
import CoalitionSQLite
import CoalitionTestSupport
import Foundation
import Testing

/// Each whole-file fault of `docs/settlement-format.md` §9 rejects the file with its code and
/// applies nothing of it.
@Suite("Settlement: whole-file faults")
struct WholeFileFaultTests {
    let body = SettlementScenario.batchTwoBody.map { Array($0.utf8) }

    /// Ingests `bytes` after batch 1 and requires the rejection `code`, with the ledger
    /// exactly as before; returns the sandbox for more.
    @discardableResult
    func expectRejected(
        _ code: ReasonCode,
        sandbox: SettlementSandbox? = nil,
        now: Timestamp? = nil,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ bytes: (SettlementSandbox) throws -> [UInt8]
    ) throws -> (SettlementSandbox, IngestResult) {
        let sandbox = try sandbox ?? SettlementScenario.afterBatchOne()
        let path = try sandbox.file(try bytes(sandbox))
        let before = try sandbox.image
        let result = try sandbox.ingest(path, now: now)
        #expect(result.settlementRejectionCode == code, "\(result.status)", sourceLocation: sourceLocation)
        try sandbox.expectUnchanged(since: before, sourceLocation: sourceLocation)
        return (sandbox, result)
    }

    func key(_ sandbox: SettlementSandbox, _ id: String = "SKYWAYS-2026A") throws -> [UInt8] {
        try sandbox.secret(id)
    }

    // MARK: Trailer

    @Test("no trailer line")
    func missingTrailer() throws {
        try expectRejected(.missingTrailer) { sandbox in
            try SettlementBytes.signing([SettlementBytes.header(sequence: 2)] + body, key: try key(sandbox))
        }
    }

    /// Trailer fields 1-8 (records, ENROLL count, EARN count, EARN total, REDEEM count, REDEEM
    /// total, REVERSAL count, REVERSAL total), each one off, re-signed.
    @Test("a trailer count or total off by one", arguments: 1...8, [-1, 1])
    func trailerOffByOne(field: Int, delta: Int) throws {
        let expected: ReasonCode = [4, 6, 8].contains(field) ? .trailerTotalMismatch : .trailerCountMismatch
        try expectRejected(expected) { sandbox in
            var trailer = SettlementBytes.trailer(body).split(separator: UInt8(ascii: "|")).map {
                String(decoding: $0, as: UTF8.self)
            }
            trailer[field] = String(try #require(Int(trailer[field])) + delta)
            let lines = [SettlementBytes.header(sequence: 2)] + body + [Array(trailer.joined(separator: "|").utf8)]
            return try SettlementBytes.signing(lines, key: try key(sandbox))
        }
    }

    @Test("two trailers, or a record after the trailer")
    func misplacedTrailer() throws {
        try expectRejected(.badTrailer) { sandbox in
            let trailer = SettlementBytes.trailer(body)
            return try SettlementBytes.signing(
                [SettlementBytes.header(sequence: 2)] + body + [trailer, trailer],
                key: try key(sandbox)
            )
        }
        try expectRejected(.badTrailer) { sandbox in
            let trailer = SettlementBytes.trailer(Array(body.dropLast()))
            return try SettlementBytes.signing(
                [SettlementBytes.header(sequence: 2)] + body.dropLast() + [trailer, body.last!],
                key: try key(sandbox)
            )
        }
        try expectRejected(.badTrailer) { sandbox in
            try SettlementBytes.signing(
                [SettlementBytes.header(sequence: 2)] + body + [Array("T|10|2|5".utf8)],
                key: try key(sandbox)
            )
        }
    }

    // MARK: Keys and signature

    @Test("signed with another partner's key, or another key of the same partner")
    func wrongKey() throws {
        for other in ["HARBOR-2026A", "SKYWAYS-2025A"] {
            try expectRejected(.badSignature) { sandbox in
                try SettlementBytes.file(
                    header: SettlementBytes.header(sequence: 2),
                    body: body,
                    key: try key(sandbox, other)
                )
            }
        }
    }

    @Test("a key id the partner does not have; answered under the partner's current key")
    func unknownKey() throws {
        let (sandbox, result) = try expectRejected(.unknownKey) { sandbox in
            try SettlementBytes.file(
                header: SettlementBytes.header(sequence: 2, keyID: "SKYWAYS-2027Z"),
                body: body,
                key: try key(sandbox)
            )
        }
        let path = try #require(result.acknowledgement)
        #expect((path as NSString).lastPathComponent == "SKYWAYS-000002-rejected-20261122T223129Z.ack")
        let header = try FileSigning.verify(path: path, kinds: [.acknowledgement], key: try key(sandbox))
        #expect(header.keyID == "SKYWAYS-2026A")
        let lines = try SettlementAck.lines(path)
        #expect(lines.count == 5)
        #expect(lines[1] == "REF|")
        #expect(lines[2].hasPrefix("F|UNKNOWN_KEY|1|"))
        #expect(lines[3] == "T|0|0|0|0|0")
    }

    @Test(
        "a key used outside its validity window",
        arguments: [
            // SKYWAYS-2025A is retired from 2026-07-01.
            ("SKYWAYS-2025A", "2026-08-01T00:00:00Z"),
            ("SKYWAYS-2025A", "2026-07-01T00:00:00Z"),
            // SKYWAYS-2026A signs from 2026-06-01.
            ("SKYWAYS-2026A", "2026-05-31T23:59:59Z"),
        ]
    )
    func keyNotValid(keyID: String, createdAt: String) throws {
        try expectRejected(.keyNotValid) { sandbox in
            try SettlementBytes.file(
                header: SettlementBytes.header(sequence: 2, createdAt: createdAt, keyID: keyID),
                body: body,
                key: try key(sandbox, keyID)
            )
        }
    }

    @Test("a retired key within its window is accepted, and answered under the current key")
    func retiredKeyWithinItsWindow() throws {
        let sandbox = try SettlementScenario.afterBatchOne()
        let path = try sandbox.file(
            try SettlementBytes.file(
                header: SettlementBytes.header(sequence: 2, createdAt: "2026-06-30T23:59:59Z", keyID: "SKYWAYS-2025A"),
                body: body,
                key: try key(sandbox, "SKYWAYS-2025A")
            )
        )
        let result = try sandbox.ingestAccepted(path)
        let ack = try #require(result.acknowledgement)
        // SKYWAYS-2025A is no longer valid when the answer is made.
        let header = try FileSigning.verify(path: ack, kinds: [.acknowledgement], key: try key(sandbox))
        #expect(header.keyID == "SKYWAYS-2026A")
        // Replayed later, the same answer.
        let before = try SettlementAck.bytes(ack)
        let replay = try sandbox.ingest(path, now: SettlementTime.now.adding(days: 400))
        #expect(replay.status == .duplicate)
        #expect(try SettlementAck.bytes(ack) == before)
    }

    // MARK: Window

    @Test("created-at more than 15 minutes ahead of receipt; exactly 15 is accepted")
    func createdAtInTheFuture() throws {
        let now = SettlementTime.now
        let (sandbox, _) = try expectRejected(.createdAtOutOfWindow, now: now) { sandbox in
            try SettlementBytes.file(
                header: SettlementBytes.header(sequence: 2, createdAt: now.adding(seconds: 15 * 60 + 1).description),
                body: body,
                key: try key(sandbox)
            )
        }
        let path = try sandbox.file(
            try SettlementBytes.file(
                header: SettlementBytes.header(sequence: 2, createdAt: now.adding(seconds: 15 * 60).description),
                body: body,
                key: try key(sandbox)
            )
        )
        #expect(try sandbox.ingest(path, now: now).status == .accepted)
    }

    @Test("created-at more than 3650 days before receipt; exactly 3650 is accepted")
    func createdAtTooOld() throws {
        let createdAt = "2026-11-20T06:00:00Z"
        let limit = SettlementTime.at(createdAt).adding(days: 3650)
        let (sandbox, _) = try expectRejected(.createdAtOutOfWindow, now: limit.adding(seconds: 1)) { sandbox in
            try SettlementBytes.file(header: SettlementBytes.header(sequence: 2), body: body, key: try key(sandbox))
        }
        let path = try sandbox.file(
            try SettlementBytes.file(header: SettlementBytes.header(sequence: 2), body: body, key: try key(sandbox))
        )
        #expect(try sandbox.ingest(path, now: limit).status == .accepted)
    }

    // MARK: Order and replay

    @Test("a replayed batch applies nothing and gets the same acknowledgement, byte for byte")
    func replay() throws {
        let sandbox = try SettlementScenario.afterBatchOne()
        let bytes = try SettlementScenario.batchTwo(sandbox)
        let first = try sandbox.ingestAccepted(try sandbox.file(bytes, name: "SKYWAYS-000002.csf"))
        let ackPath = try #require(first.acknowledgement)
        let ack = try SettlementAck.bytes(ackPath)
        let before = try sandbox.image
        let outbox = try sandbox.outboxNames()
        // Sent again under another name, later: the bytes decide.
        for (name, now) in [("again.csf", SettlementTime.now), ("retry.csf", SettlementTime.now.adding(days: 1))] {
            let replay = try sandbox.ingest(try sandbox.file(bytes, name: name), now: now)
            #expect(replay.status == .duplicate)
            #expect(replay.acknowledgement == ackPath)
            #expect(replay.summary?.accepted == first.summary?.accepted)
            #expect(try SettlementAck.bytes(ackPath) == ack)
            try sandbox.expectUnchanged(since: before)
            #expect(try sandbox.outboxNames() == outbox)
        }
    }

    @Test("the same batch number with other bytes is BATCH_CONFLICT; the first answer stays")
    func conflict() throws {
        let sandbox = try SettlementScenario.afterBatchOne()
        let first = try sandbox.ingestAccepted(try sandbox.file(try SettlementScenario.batchTwo(sandbox)))
        let ackPath = try #require(first.acknowledgement)
        let ack = try SettlementAck.bytes(ackPath)
        try expectRejected(.batchConflict, sandbox: sandbox) { sandbox in
            try SettlementBytes.file(
                header: SettlementBytes.header(sequence: 2),
                body: body.dropLast(),
                key: try key(sandbox)
            )
        }
        #expect(try SettlementAck.bytes(ackPath) == ack)
        // A different created-at alone is other bytes, too.
        try expectRejected(.batchConflict, sandbox: sandbox) { sandbox in
            try SettlementBytes.file(
                header: SettlementBytes.header(sequence: 2, createdAt: "2026-11-20T06:00:01Z"),
                body: body,
                key: try key(sandbox)
            )
        }
    }

    /// `coalition ingest` receives every file of a run at one time: two files rejected for
    /// the same batch then must not share one answer's name.
    @Test("two files rejected for one batch at one time each get their own answer")
    func rejectionsDoNotReplaceEachOther() throws {
        let sandbox = try SettlementScenario.afterBatchOne()
        let key = try key(sandbox)
        var damaged = try SettlementScenario.batchTwo(sandbox)
        damaged[100] ^= 1
        let cut = try SettlementBytes.signing(
            [SettlementBytes.header(sequence: 2)] + body.dropLast() + [SettlementBytes.trailer(body)],
            key: key
        )
        let before = try sandbox.image
        var answers: [String] = []
        for (bytes, code) in [
            (damaged, ReasonCode.badSignature), (cut, .trailerCountMismatch), (damaged, .badSignature),
        ] {
            let result = try sandbox.ingest(try sandbox.file(bytes))
            #expect(result.settlementRejectionCode == code)
            answers.append(try #require(result.acknowledgement))
        }
        try sandbox.expectUnchanged(since: before)
        #expect(Set(answers).count == 3, "\(answers)")
        #expect(try sandbox.outboxNames().count == 4)
        for (path, code) in zip(answers, ["BAD_SIGNATURE", "TRAILER_COUNT_MISMATCH", "BAD_SIGNATURE"]) {
            #expect(path.hasSuffix(".ack"))
            #expect(try SettlementAck.lines(path)[2].hasPrefix("F|\(code)|"), "\(path)")
            #expect(throws: Never.self) { try FileSigning.verify(path: path, kinds: [.acknowledgement], key: key) }
        }
    }

    @Test("a batch number skipping ahead is SEQUENCE_GAP and does not use up the number")
    func gap() throws {
        let sandbox = try SettlementScenario.afterBatchOne()
        let three = try SettlementBytes.file(
            header: SettlementBytes.header(sequence: 3, createdAt: "2026-11-21T06:00:00Z"),
            body: [Array("EARN|S3-01|\(SettlementScenario.m1)|10|2026-11-20T10:00:00Z|".utf8)],
            key: try key(sandbox)
        )
        try expectRejected(.sequenceGap, sandbox: sandbox) { _ in three }
        try sandbox.ingestAccepted(try sandbox.file(try SettlementScenario.batchTwo(sandbox)))
        try sandbox.ingestAccepted(try sandbox.file(three))
    }

    @Test("a batch number below the last one applied is SEQUENCE_BACKWARDS")
    func backwards() throws {
        let sandbox = try SettlementScenario.afterBatchOne()
        // Batch 3 of SKYWAYS reached the ledger by another way than a file (an operator's
        // correction batch, say); batch 2 was never applied.
        let sky = try PartnerID("SKYWAYS")
        let record = LedgerRecord(
            key: try RecordKey(partner: sky, recordID: "OPS-1"),
            occurredAt: SettlementTime.at("2026-11-20T10:00:00Z"),
            body: .earn(member: SettlementMembers.number(1), units: 10)
        )
        let info = BatchInfo(partner: sky, sequence: 3, source: "operator", receivedAt: SettlementTime.now)
        _ = try sandbox.ledger.apply([record], info: info)
        try expectRejected(.sequenceBackwards, sandbox: sandbox) { sandbox in
            try SettlementScenario.batchTwo(sandbox)
        }
    }

    // MARK: Bytes and lines

    @Test("CRLF line endings, signed as sent")
    func crlf() throws {
        try expectRejected(.carriageReturn) { sandbox in
            let lines: [[UInt8]] = [SettlementBytes.header(sequence: 2)] + body + [SettlementBytes.trailer(body)]
            let unsigned: [UInt8] = lines.flatMap { $0 + [13, 10] }
            let mac = try HMACSHA256.authenticationCode(for: unsigned, using: try key(sandbox))
            return unsigned + Array("S|\(Hex.encode(mac))\r\n".utf8)
        }
    }

    @Test("a CR inside one text field deep in the file, after chunks were applied")
    func carriageReturnInText() throws {
        let sandbox = try SettlementScenario.afterBatchOne()
        var lines = body
        lines[8] = Array("EARN|S2-09|\(SettlementScenario.m3)|100|2026-11-19T22:00:00Z|a\rb".utf8)
        let path = try sandbox.file(
            try SettlementBytes.file(header: SettlementBytes.header(sequence: 2), body: lines, key: try key(sandbox))
        )
        let before = try sandbox.image
        let result = try sandbox.ingest(path, chunkRecords: 2)
        #expect(result.settlementRejectionCode == .carriageReturn)
        try sandbox.expectUnchanged(since: before)
    }

    @Test("a UTF-8 byte order mark")
    func byteOrderMark() throws {
        try expectRejected(.byteOrderMark) { sandbox in
            [0xEF, 0xBB, 0xBF] + (try SettlementScenario.batchTwo(sandbox))
        }
        try expectRejected(.byteOrderMark) { sandbox in
            let lines = SettlementBytes.lines(try SettlementScenario.batchTwo(sandbox)).dropLast()
            return try SettlementBytes.signing(
                [[0xEF, 0xBB, 0xBF] + lines[0]] + lines.dropFirst(),
                key: try key(sandbox)
            )
        }
    }

    @Test("invalid UTF-8 in a text field, signed as sent, found after chunks were applied")
    func invalidUTF8() throws {
        let sandbox = try SettlementScenario.afterBatchOne()
        var lines = body
        lines[8] = Array("EARN|S2-09|\(SettlementScenario.m3)|100|2026-11-19T22:00:00Z|caf".utf8) + [0xC3, 0x28]
        let path = try sandbox.file(
            try SettlementBytes.file(header: SettlementBytes.header(sequence: 2), body: lines, key: try key(sandbox))
        )
        let before = try sandbox.image
        var progressed: [Int64] = []
        var ingestor = sandbox.ingestor(chunkRecords: 3)
        ingestor.progress = { _ in progressed.append(sandbox.ledger.state.lastSeq) }
        let result = try ingestor.ingest(path: path, outbox: sandbox.outbox)
        #expect(result.settlementRejectionCode == .invalidUTF8)
        if case .rejected(let error) = result.status { #expect(error.place.line == 10) }
        // Chunks were applied before the fault was found, and undone.
        #expect(progressed.contains { $0 > before.lastSeq })
        try sandbox.expectUnchanged(since: before)
    }

    @Test("a 10 MB line is LINE_TOO_LONG")
    func tenMegabyteLine() throws {
        let sandbox = try SettlementScenario.afterBatchOne()
        let path = sandbox.root + "/files/long.csf"
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        handle.write(Data(SettlementBytes.header(sequence: 2) + [10]))
        handle.write(Data("EARN|S2-01|\(SettlementScenario.m1)|100|2026-11-19T10:00:00Z|".utf8))
        let piece = Data(repeating: UInt8(ascii: "a"), count: 1 << 20)
        for _ in 0..<10 { handle.write(piece) }
        handle.write(Data("\nT|1|0|1|100|0|0|0|0\nS|\(String(repeating: "0", count: 64))\n".utf8))
        try handle.close()
        let before = try sandbox.image
        let result = try sandbox.ingest(path)
        #expect(result.settlementRejectionCode == .lineTooLong)
        try sandbox.expectUnchanged(since: before)
    }

    /// The reader takes files in 1 MiB chunks and keeps the last complete line of a chunk for
    /// the next one: a long line that is the last complete one of a chunk must be refused,
    /// not kept (it would not fit beside the next chunk).
    @Test("a long line ending just before a 1 MiB chunk boundary is LINE_TOO_LONG", arguments: [1_500, 3_000, 300_000])
    func longLineAtChunkEnd(length: Int) throws {
        let sandbox = try SettlementScenario.afterBatchOne()
        let chunk = 1 << 20
        var bytes = SettlementBytes.header(sequence: 2) + [10]
        var number = 0
        while bytes.count < chunk - length - 200 {
            number += 1
            bytes += Array("EARN|L-\(number)|\(SettlementScenario.m1)|100|2026-11-19T10:00:00Z|filler\n".utf8)
        }
        // The long line ends 10 bytes before the boundary; the next line crosses it.
        let prefix = Array("EARN|L-LONG|\(SettlementScenario.m1)|100|2026-11-19T10:00:00Z|".utf8)
        let padding = chunk - 10 - 1 - bytes.count - prefix.count
        try #require(padding > length - 100)
        bytes += prefix + [UInt8](repeating: UInt8(ascii: "x"), count: padding) + [10]
        #expect(bytes.count == chunk - 10)
        // More than a chunk follows, so the next read fills a whole chunk.
        while bytes.count < 2 * chunk + 100_000 {
            number += 1
            bytes += Array("EARN|L-\(number)|\(SettlementScenario.m1)|100|2026-11-19T10:00:00Z|filler\n".utf8)
        }
        bytes += Array("T|0|0|0|0|0|0|0|0\nS|\(String(repeating: "0", count: 64))\n".utf8)
        let path = try sandbox.file(bytes)
        let before = try sandbox.image
        let result = try sandbox.ingest(path)
        #expect(result.settlementRejectionCode == .lineTooLong, "\(result.status)")
        try sandbox.expectUnchanged(since: before)
    }

    @Test("a line of 1025 bytes is LINE_TOO_LONG; one of 1024 bytes is read (as a record fault)")
    func lineLengthLimit() throws {
        let prefix = "EARN|S2-11|\(SettlementScenario.m1)|100|2026-11-19T23:30:00Z|"
        func line(_ length: Int) -> [UInt8] {
            Array((prefix + String(repeating: "x", count: length - prefix.utf8.count)).utf8)
        }
        try expectRejected(.lineTooLong) { sandbox in
            try SettlementBytes.file(
                header: SettlementBytes.header(sequence: 2),
                body: body + [line(1025)],
                key: try key(sandbox)
            )
        }
        let sandbox = try SettlementScenario.afterBatchOne()
        let path = try sandbox.file(
            try SettlementBytes.file(
                header: SettlementBytes.header(sequence: 2),
                body: body + [line(1024)],
                key: try key(sandbox)
            )
        )
        let result = try sandbox.ingestAccepted(path)
        let lines = try SettlementAck.lines(of: result)
        #expect(lines.contains { $0.hasPrefix("R|12|S2-11|MALFORMED_RECORD|") })
    }

    @Test("an empty file")
    func emptyFile() throws {
        let (sandbox, result) = try expectRejected(.emptyFile) { _ in [] }
        #expect(result.acknowledgement == nil)
        #expect(try sandbox.outboxNames() == ["SKYWAYS-000001.ack"])
    }

    // MARK: Header

    @Test("an acknowledgement submitted as a settlement file")
    func acknowledgementAsSettlement() throws {
        let sandbox = try SettlementScenario.afterBatchOne()
        try expectRejected(.wrongDirection, sandbox: sandbox) { sandbox in
            try SettlementAck.bytes(sandbox.outbox + "/SKYWAYS-000001.ack")
        }
    }

    /// A header with one field changed.
    struct HeaderFault: Sendable, CustomTestStringConvertible {
        var kind = "COALITION-SETTLEMENT"
        var version = "1"
        var direction = "P2C"
        var partner = "SKYWAYS"
        var code: ReasonCode

        var line: String {
            "H|\(kind)|\(version)|\(direction)|\(partner)|2|\(SettlementTime.createdAt)|SKYWAYS-2026A"
        }
        var testDescription: String { "\(line) → \(code)" }
    }

    @Test(
        "header faults",
        arguments: [
            HeaderFault(direction: "C2P", code: .wrongDirection),
            HeaderFault(kind: "COALITION-RECONCILIATION", code: .wrongDirection),
            HeaderFault(kind: "COALITION-STATEMENT", direction: "C2P", code: .wrongDirection),
            HeaderFault(kind: "COALITION-ACK", direction: "C2P", code: .wrongDirection),
            HeaderFault(version: "2", code: .unsupportedVersion),
            HeaderFault(partner: "AIRWAYS", code: .unknownPartner),
            HeaderFault(kind: "COALITION-SETTLEMENTS", code: .badHeader),
            HeaderFault(partner: "skyways", code: .badHeader),
        ]
    )
    func headerFaults(fault: HeaderFault) throws {
        try expectRejected(fault.code) { sandbox in
            try SettlementBytes.file(header: Array(fault.line.utf8), body: body, key: try key(sandbox))
        }
    }

    @Test(
        "malformed header fields",
        arguments: [
            "H|COALITION-SETTLEMENT|1|P2C|SKYWAYS|0|2026-11-20T06:00:00Z|SKYWAYS-2026A",
            "H|COALITION-SETTLEMENT|1|P2C|SKYWAYS|02|2026-11-20T06:00:00Z|SKYWAYS-2026A",
            "H|COALITION-SETTLEMENT|1|P2C|SKYWAYS|2|2026-11-20 06:00:00Z|SKYWAYS-2026A",
            "H|COALITION-SETTLEMENT|1|P2C|SKYWAYS|2|2026-11-20T06:00:00Z|",
            "H|COALITION-SETTLEMENT|1|P2C|SKYWAYS|2|2026-11-20T06:00:00Z",
            "X|COALITION-SETTLEMENT|1|P2C|SKYWAYS|2|2026-11-20T06:00:00Z|SKYWAYS-2026A",
        ]
    )
    func malformedHeader(header: String) throws {
        try expectRejected(.badHeader) { sandbox in
            try SettlementBytes.file(header: Array(header.utf8), body: body, key: try key(sandbox))
        }
    }
}
