import CoalitionFiles
import CoalitionKit
import CoalitionSQLite
import CoalitionTestSupport
import Foundation
import Testing

/// A signed file changed anywhere, or cut anywhere, is rejected whole and changes nothing.
@Suite("Settlement: tampered and truncated files")
struct TamperingTests {
    @Test("every single-byte change anywhere in a signed file rejects it whole")
    func everySingleByteChange() throws {
        let sandbox = try SettlementScenario.afterBatchOne()
        let original = try SettlementScenario.batchTwo(sandbox)
        let lines = SettlementBytes.lines(original)
        let headerEnd = lines[0].count  // the header's LF
        let trailerEnd = original.count - lines[lines.count - 1].count - 2  // the trailer's LF
        let before = try sandbox.image
        let path = sandbox.root + "/files/tampered.csf"
        var codes: [ReasonCode: Int] = [:]
        var tried = 0
        for position in original.indices {
            let byte = original[position]
            // A flipped low bit (a digit, a letter, a separator or a LF becomes its neighbour),
            // and a LF put in (or, for a LF, a separator in its place).
            let newline = UInt8(ascii: "\n")
            for replacement in [byte ^ 0x01, byte == newline ? UInt8(ascii: "|") : newline] {
                var bytes = original
                bytes[position] = replacement
                try Data(bytes).write(to: URL(fileURLWithPath: path))
                let result = try sandbox.ingest(path)
                tried += 1
                let code = try #require(
                    result.settlementRejectionCode,
                    "byte \(position) (\(byte) → \(replacement)) was not rejected: \(result.status)"
                )
                codes[code, default: 0] += 1
                #expect(settlementWholeFileCodes.contains(code), "byte \(position): \(code)")
                if position > headerEnd && position < trailerEnd {
                    // The header and the signature line are intact: only the MAC can tell.
                    #expect(code == .badSignature, "byte \(position) (\(byte) → \(replacement)): \(code)")
                }
                #expect(sandbox.ledger.state.lastSeq == before.lastSeq, "byte \(position)")
                #expect(sandbox.ledger.state.records == before.records, "byte \(position)")
            }
        }
        #expect(tried == 2 * original.count)
        #expect((codes[.badSignature] ?? 0) > tried / 2, "\(codes)")
        try sandbox.expectUnchanged(since: before)
        // The unchanged file is good: the loop above failed for the changes alone.
        try Data(original).write(to: URL(fileURLWithPath: path))
        let result = try sandbox.ingestAccepted(path)
        #expect(result.summary?.accepted == 10)
    }

    @Test("every truncation of a signed file rejects it whole")
    func everyTruncation() throws {
        let sandbox = try SettlementScenario.afterBatchOne()
        let original = try SettlementScenario.batchTwo(sandbox)
        let before = try sandbox.image
        let path = sandbox.root + "/files/truncated.csf"
        for length in 0..<original.count {
            try Data(original[0..<length]).write(to: URL(fileURLWithPath: path))
            let result = try sandbox.ingest(path)
            let expected: ReasonCode = length == 0 ? .emptyFile : .missingSignature
            #expect(result.settlementRejectionCode == expected, "length \(length) of \(original.count)")
            #expect(sandbox.ledger.state.lastSeq == before.lastSeq, "length \(length)")
        }
        try sandbox.expectUnchanged(since: before)
        try Data(original).write(to: URL(fileURLWithPath: path))
        try sandbox.ingestAccepted(path)
    }

    @Test("a file cut after its trailer, with the signature line gone, is MISSING_SIGNATURE")
    func signatureLineGone() throws {
        let sandbox = try SettlementScenario.afterBatchOne()
        let lines = SettlementBytes.lines(try SettlementScenario.batchTwo(sandbox))
        let before = try sandbox.image
        let path = try sandbox.file(SettlementBytes.unsignedBytes(Array(lines.dropLast())))
        let result = try sandbox.ingest(path)
        #expect(result.settlementRejectionCode == .missingSignature)
        try sandbox.expectUnchanged(since: before)
    }
}
