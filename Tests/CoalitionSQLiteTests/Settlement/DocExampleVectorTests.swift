import CoalitionTestSupport
import Foundation
import Testing

// `@testable` for `MemberNumber(trusted:)` alone: the example's last record carries a
// mistyped member number, which a partner's system writes but the public API refuses.
@testable import CoalitionFiles
@testable import CoalitionKit

/// A temporary directory for one test, removed with it.
final class SettlementScratch {
    let path: String

    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("coalition-vector-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `bytes` to `name` in the directory; returns its path.
    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    func read(_ file: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: file)))
    }
}

/// The test vector of `docs/settlement-format.md` §11, read from the page: its key, its
/// signatures, and the writer that must reproduce it.
@Suite("Settlement: the documented test vector")
struct DocExampleVectorTests {
    /// The bytes before the last line (the signed region), and the last line without its LF.
    func split(_ bytes: [UInt8]) throws -> (signed: [UInt8], signatureLine: String) {
        #expect(bytes.last == 10, "the file ends with LF")
        let body = bytes.dropLast()
        let start = try #require(body.lastIndex(of: 10)) + 1
        return (Array(bytes[..<start]), String(decoding: body[start...], as: UTF8.self))
    }

    @Test("the test key is the 32 published ASCII bytes")
    func testKey() throws {
        let key = try SettlementDocument.testKey()
        #expect(key == Array("Coalition test key for docs-only".utf8))
        #expect(key.count == 32)
    }

    @Test("the example's S line is the HMAC-SHA256 of its other 483 bytes under the test key")
    func exampleSignature() throws {
        let key = try SettlementDocument.testKey()
        let (signed, signatureLine) = try split(try SettlementDocument.block("example-settlement"))
        #expect(signed.count == 483)
        let mac = try HMACSHA256.authenticationCode(for: signed, using: key)
        #expect(signatureLine == "S|" + Hex.encode(mac))
        #expect(signatureLine == "S|f77749d197ca4bc9f214c08bf8b988628a918f0eeb3290a9cb5cbcd62104c8b7")
        // Under any other key, another signature.
        var other = key
        other[0] ^= 1
        #expect(signatureLine != "S|" + Hex.encode(try HMACSHA256.authenticationCode(for: signed, using: other)))
    }

    /// The example's records, as SKYWAYS's system holds them.
    func exampleRecords() throws -> [(LedgerRecord, String)] {
        let sky = try PartnerID("SKYWAYS")
        func record(_ id: String, _ at: String, _ body: LedgerRecord.Body) throws -> LedgerRecord {
            LedgerRecord(
                key: try RecordKey(partner: sky, recordID: id),
                occurredAt: try Timestamp(parsing: at),
                body: body
            )
        }
        let m093 = try MemberNumber("6001000000093")
        let m150 = try MemberNumber("6001000000150")
        return [
            (try record("SKY-1001", "2026-11-19T08:00:00Z", .enroll(member: m093)), "web signup"),
            (try record("SKY-1002", "2026-11-19T09:30:00Z", .earn(member: m093, units: 2400)), "PNR Q7X2LM LHR|JFK"),
            (try record("SKY-1003", "2026-11-19T10:00:00Z", .earn(member: m150, units: 1501)), ""),
            (try record("SKY-1004", "2026-11-19T18:45:00Z", .redeem(member: m093, units: 1001)), "award seat 12A"),
            (
                try record("SKY-1005", "2026-11-19T20:00:00Z", .reverse(original: "SKY-1002", units: 400)),
                "partial refund"
            ),
            (
                try record(
                    "SKY-1006",
                    "2026-11-19T21:00:00Z",
                    .earn(member: MemberNumber(trusted: 6_001_000_000_094), units: 500)
                ), ""
            ),
        ]
    }

    func exampleHeader() throws -> FileHeader {
        FileHeader(
            kind: .settlement,
            partner: try PartnerID("SKYWAYS"),
            sequence: 7,
            createdAt: try Timestamp(parsing: "2026-11-20T06:00:00Z"),
            keyID: "SKYWAYS-TEST"
        )
    }

    @Test("SettlementFile.write of the example's records reproduces the file byte for byte")
    func writerReproducesExample() throws {
        let scratch = try SettlementScratch()
        let example = try SettlementDocument.block("example-settlement")
        let records = try exampleRecords()
        let references = Dictionary(uniqueKeysWithValues: records.map { ($0.0.key.recordID, $0.1) })
        let path = scratch.path + "/SKYWAYS-000007.csf"
        let signature = try SettlementFile.write(
            records.map(\.0),
            header: try exampleHeader(),
            key: try SettlementDocument.testKey(),
            to: path
        ) { references[$0.key.recordID] ?? "" }
        #expect(try scratch.read(path) == example)
        #expect("S|" + Hex.encode(signature) == (try split(example)).signatureLine)
        #expect(SettlementFile.line(for: records[1].0, reference: records[1].1).hasSuffix("|PNR Q7X2LM LHR%7CJFK"))
    }

    @Test("an unsigned example signed by FileSigning.sign is the example")
    func signReproducesExample() throws {
        let scratch = try SettlementScratch()
        let example = try SettlementDocument.block("example-settlement")
        let records = try exampleRecords()
        let references = Dictionary(uniqueKeysWithValues: records.map { ($0.0.key.recordID, $0.1) })
        let path = scratch.path + "/unsigned.csf"
        let unsignedSignature = try SettlementFile.write(
            records.map(\.0),
            header: try exampleHeader(),
            key: nil,
            to: path
        ) { references[$0.key.recordID] ?? "" }
        #expect(unsignedSignature.isEmpty)
        #expect(try scratch.read(path) == (try split(example)).signed)
        _ = try FileSigning.sign(path: path, key: try SettlementDocument.testKey())
        #expect(try scratch.read(path) == example)
        // Signing twice is refused: the file is already signed.
        let error = try #require(throws: CoalitionError.self) {
            try FileSigning.sign(path: path, key: try SettlementDocument.testKey())
        }
        #expect(error.code == .badTrailer)
        #expect(try scratch.read(path) == example)
    }

    @Test("the example acknowledgement's signature verifies under the test key")
    func acknowledgementVerifies() throws {
        let scratch = try SettlementScratch()
        let key = try SettlementDocument.testKey()
        let ack = try SettlementDocument.block("example-acknowledgement")
        let path = try scratch.write(ack, "SKYWAYS-000007.ack")
        let header = try FileSigning.verify(path: path, kinds: [.acknowledgement], key: key)
        #expect(header.kind == .acknowledgement)
        #expect(header.partner == (try PartnerID("SKYWAYS")))
        #expect(header.sequence == 7)
        #expect(header.keyID == "SKYWAYS-TEST")
        #expect(header.createdAt == (try Timestamp(parsing: "2026-11-22T22:31:29Z")))
        let (signed, signatureLine) = try split(ack)
        #expect(signatureLine == "S|" + Hex.encode(try HMACSHA256.authenticationCode(for: signed, using: key)))
        // It answers the example: its REF is the example's signature.
        let settlementSignature = try split(try SettlementDocument.block("example-settlement")).signatureLine
        let lines = String(decoding: ack, as: UTF8.self).split(separator: "\n")
        #expect(lines[1] == "REF|" + settlementSignature.dropFirst(2))
        #expect(lines[lines.count - 2] == "T|6|5|1|1950|701")
    }

    @Test("the example settlement verifies as a settlement file, never as an acknowledgement")
    func directions() throws {
        let scratch = try SettlementScratch()
        let key = try SettlementDocument.testKey()
        let settlement = try scratch.write(try SettlementDocument.block("example-settlement"), "example.csf")
        let ack = try scratch.write(try SettlementDocument.block("example-acknowledgement"), "example.ack")
        #expect(try FileSigning.verify(path: settlement, kinds: [.settlement], key: key).kind == .settlement)
        let asAck = try #require(throws: CoalitionError.self) {
            try FileSigning.verify(path: settlement, kinds: [.acknowledgement, .statement], key: key)
        }
        #expect(asAck.code == .wrongDirection)
        let asSettlement = try #require(throws: CoalitionError.self) {
            try FileSigning.verify(path: ack, kinds: [.settlement], key: key)
        }
        #expect(asSettlement.code == .wrongDirection)
    }

    @Test("a changed acknowledgement, or one checked under another key, is BAD_SIGNATURE")
    func tamperedAcknowledgement() throws {
        let scratch = try SettlementScratch()
        let key = try SettlementDocument.testKey()
        let ack = try SettlementDocument.block("example-acknowledgement")
        let (signed, _) = try split(ack)
        var other = key
        other[31] ^= 0x80
        let untouched = try scratch.write(ack, "untouched.ack")
        let wrongKey = try #require(throws: CoalitionError.self) {
            try FileSigning.verify(path: untouched, kinds: [.acknowledgement], key: other)
        }
        #expect(wrongKey.code == .badSignature)
        // Every digit of the points and counts, one at a time (past the header, whose time is
        // free to change only with the signature).
        let headerEnd = try #require(ack.firstIndex(of: 10))
        var changed = 0
        for index in (headerEnd + 1)..<signed.count where (48...57).contains(ack[index]) {
            var bytes = ack
            bytes[index] = bytes[index] == 57 ? 48 : bytes[index] + 1
            let path = try scratch.write(bytes, "changed.ack")
            let error = try #require(throws: CoalitionError.self) {
                try FileSigning.verify(path: path, kinds: [.acknowledgement], key: key)
            }
            #expect(error.code == .badSignature, "byte \(index)")
            changed += 1
        }
        #expect(changed > 100)
    }
}
