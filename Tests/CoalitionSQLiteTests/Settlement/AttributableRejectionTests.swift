import CoalitionFiles
import CoalitionKit
import Foundation
import Testing

@Suite("Settlement files refused whole: an answer for every file that can be attributed")
struct AttributableRejectionTests {
    let body = SettlementScenario.batchTwoBody.map { Array($0.utf8) }

    func key(_ sandbox: SettlementSandbox) throws -> [UInt8] { try sandbox.secret("SKYWAYS-2026A") }

    /// Ingests `bytes` after batch one; the result must be a rejection with `code`.
    func rejected(
        _ code: ReasonCode,
        _ bytes: (SettlementSandbox) throws -> [UInt8]
    ) throws -> (
        SettlementSandbox, IngestResult
    ) {
        let sandbox = try SettlementScenario.afterBatchOne()
        let before = try sandbox.image
        let result = try sandbox.ingest(try sandbox.file(try bytes(sandbox)))
        #expect(result.settlementRejectionCode == code, "\(result.status)")
        try sandbox.expectUnchanged(since: before)
        return (sandbox, result)
    }

    /// The answer is a signed rejection with `code`, under the partner's key.
    func expectSignedRejection(_ result: IngestResult, _ code: ReasonCode, _ sandbox: SettlementSandbox) throws {
        let path = try #require(result.acknowledgement, "no answer for \(code)")
        let lines = try SettlementAck.lines(path)
        #expect(lines.first?.hasPrefix("H|COALITION-ACK|1|C2P|SKYWAYS|") == true, "\(lines)")
        #expect(lines.dropFirst(2).first?.hasPrefix("F|\(code)|") == true, "\(lines)")
        #expect(throws: Never.self) {
            try FileSigning.verify(path: path, kinds: [.acknowledgement], key: try key(sandbox))
        }
    }

    @Test("CRLF line ends: a signed rejection")
    func crlf() throws {
        let (sandbox, result) = try rejected(.carriageReturn) { sandbox in
            let lines: [[UInt8]] = [SettlementBytes.header(sequence: 2)] + body + [SettlementBytes.trailer(body)]
            let unsigned: [UInt8] = lines.flatMap { $0 + [13, 10] }
            let mac = try HMACSHA256.authenticationCode(for: unsigned, using: try key(sandbox))
            return unsigned + Array("S|\(Hex.encode(mac))\r\n".utf8)
        }
        try expectSignedRejection(result, .carriageReturn, sandbox)
    }

    @Test("the wrong direction or an unsupported version: a signed rejection")
    func badHeaderFields() throws {
        let (one, wrong) = try rejected(.wrongDirection) { sandbox in
            try SettlementBytes.file(
                header: SettlementBytes.header(direction: "C2P", sequence: 2),
                body: body,
                key: try key(sandbox)
            )
        }
        try expectSignedRejection(wrong, .wrongDirection, one)
        let (two, version) = try rejected(.unsupportedVersion) { sandbox in
            var header = String(decoding: SettlementBytes.header(sequence: 2), as: UTF8.self)
            header = header.replacingOccurrences(of: "|1|P2C|", with: "|9|P2C|")
            return try SettlementBytes.file(header: Array(header.utf8), body: body, key: try key(sandbox))
        }
        try expectSignedRejection(version, .unsupportedVersion, two)
    }

    @Test("a header naming no known partner, or a key the partner does not have, gets no answer")
    func unattributable() throws {
        let (_, stranger) = try rejected(.unknownPartner) { sandbox in
            try SettlementBytes.file(
                header: SettlementBytes.header(partner: "NOBODY", sequence: 2),
                body: body,
                key: try key(sandbox)
            )
        }
        #expect(stranger.acknowledgement == nil)
    }

    @Test(
        "an older batch sent again with other bytes is SEQUENCE_BACKWARDS; the last one with other bytes BATCH_CONFLICT"
    )
    func olderBatchResent() throws {
        let sandbox = try SettlementScenario.afterBatchOne()
        try sandbox.ingestAccepted(try sandbox.file(try SettlementScenario.batchTwo(sandbox)))
        let before = try sandbox.image
        let older = try SettlementBytes.file(
            header: SettlementBytes.header(sequence: 1, createdAt: "2026-11-20T06:00:07Z"),
            body: body,
            key: try key(sandbox)
        )
        let result = try sandbox.ingest(try sandbox.file(older))
        #expect(result.settlementRejectionCode == .sequenceBackwards, "\(result.status)")
        try sandbox.expectUnchanged(since: before)
        let latest = try SettlementBytes.file(
            header: SettlementBytes.header(sequence: 2, createdAt: "2026-11-20T06:00:07Z"),
            body: body,
            key: try key(sandbox)
        )
        #expect(try sandbox.ingest(try sandbox.file(latest)).settlementRejectionCode == .batchConflict)
    }
}
