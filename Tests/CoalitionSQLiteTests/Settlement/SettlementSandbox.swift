import CoalitionFiles
import CoalitionGeneration
import CoalitionKit
import CoalitionSQLite
import CoalitionTestSupport
import Foundation
import Testing

/// Paths of the package under test, from this file's place in
/// `Tests/CoalitionSQLiteTests/Settlement/`.
enum SettlementPaths {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let partners = packageRoot + "/partners"
    static let formatDocument = packageRoot + "/docs/settlement-format.md"
}

/// Fixed instants, so no test depends on the clock.
enum SettlementTime {
    /// The time the doc example's acknowledgement was made; the default time of receipt.
    static let now = at("2026-11-22T22:31:29Z")
    /// The default created-at of the files the tests write.
    static let createdAt = "2026-11-20T06:00:00Z"

    static func at(_ text: String) -> Timestamp {
        do { return try Timestamp(parsing: text) } catch { fatalError("not a time: \(text)") }
    }
}

/// Every whole-file reason code of `docs/settlement-format.md` §9: a file rejected with one of
/// these has nothing of it applied.
let settlementWholeFileCodes: Set<ReasonCode> = [
    .byteOrderMark, .carriageReturn, .invalidUTF8, .lineTooLong, .emptyFile, .badHeader, .unsupportedVersion,
    .wrongDirection, .unknownPartner, .unknownKey, .keyNotValid, .missingSignature, .badSignature,
    .missingTrailer, .badTrailer, .trailerCountMismatch, .trailerTotalMismatch, .sequenceBackwards,
    .sequenceGap, .batchConflict, .createdAtOutOfWindow,
]

/// A key to add to a partner's key ring for one test.
struct SettlementExtraKey {
    var partner: String
    var id: String
    var validFrom: String
    var validUntil: String?
    var secret: [UInt8]
}

/// One test's own world: the demo network from `partners/` copied into a temporary directory
/// (with extra keys if asked), every key written with `KeyFile.write` into a keys directory,
/// a fresh `SQLiteStore` and its `Ledger`, and an outbox.
final class SettlementSandbox {
    let root: String
    let partnersDirectory: String
    let keysDirectory: String
    let outbox: String
    let network: Network
    let store: SQLiteStore
    let ledger: Ledger
    /// The time of receipt every ingest uses unless told otherwise.
    var now = SettlementTime.now
    private var fileNumber = 0

    /// `acknowledgementVersions`: partners (by id) whose definition asks for that version of
    /// acknowledgement.
    init(extraKeys: [SettlementExtraKey] = [], acknowledgementVersions: [String: Int] = [:]) throws {
        let fileManager = FileManager.default
        root = (NSTemporaryDirectory() as NSString).appendingPathComponent("coalition-settle-\(UUID().uuidString)")
        partnersDirectory = root + "/partners"
        keysDirectory = root + "/keys"
        outbox = root + "/outbox"
        for directory in [partnersDirectory, keysDirectory, outbox, root + "/files"] {
            try fileManager.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        for name in try fileManager.contentsOfDirectory(atPath: SettlementPaths.partners) where name.hasSuffix(".json")
        {
            var data = try Data(contentsOf: URL(fileURLWithPath: SettlementPaths.partners + "/" + name))
            let keys = extraKeys.filter { name == $0.partner.lowercased() + ".json" }
            let version = acknowledgementVersions.first { name == $0.key.lowercased() + ".json" }?.value
            if !keys.isEmpty || version != nil {
                var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
                object["acknowledgementVersion"] = version
                var ring = try #require(object["keys"] as? [[String: Any]])
                for key in keys {
                    var entry: [String: Any] = ["id": key.id, "validFrom": key.validFrom, "file": "keys/\(key.id).key"]
                    entry["validUntil"] = key.validUntil
                    ring.append(entry)
                }
                object["keys"] = ring
                data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            }
            try data.write(to: URL(fileURLWithPath: partnersDirectory + "/" + name))
        }
        network = try NetworkLoader.load(directory: partnersDirectory)
        for partner in network.sortedPartners {
            for info in partner.keys {
                let secret =
                    try extraKeys.first { $0.id == info.id }?.secret
                    ?? KeyFile.read(SettlementPaths.partners + "/" + info.file)
                try KeyFile.write(secret, to: keysDirectory + "/\(info.id).key", comment: "test key \(info.id)")
            }
        }
        store = try SQLiteStore(path: root + "/ledger.sqlite", create: true)
        ledger = try Ledger(network: network, store: store)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// The secret of key `id`, as the key ring holds it.
    func secret(_ id: String) throws -> [UInt8] {
        try KeyFile.read(keysDirectory + "/\(id).key")
    }

    /// An ingestor over the sandbox's ledger and keys, receiving at `now`.
    func ingestor(now: Timestamp? = nil, chunkRecords: Int? = nil) -> Ingestor {
        let keys = keysDirectory
        var ingestor = Ingestor(ledger: ledger, now: now ?? self.now) { try KeyRing.load($0, directory: keys) }
        if let chunkRecords { ingestor.chunkRecords = chunkRecords }
        return ingestor
    }

    func ingest(_ path: String, now: Timestamp? = nil, chunkRecords: Int? = nil) throws -> IngestResult {
        try ingestor(now: now, chunkRecords: chunkRecords).ingest(path: path, outbox: outbox)
    }

    /// Writes `bytes` as a new file of the sandbox; returns its path.
    func file(_ bytes: [UInt8], name: String? = nil) throws -> String {
        fileNumber += 1
        let path = root + "/files/" + (name ?? "file-\(fileNumber).csf")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A settlement file of SKYWAYS signed with SKYWAYS-2026A, built from `body` lines.
    func skywaysFile(
        sequence: Int64,
        body: [String],
        createdAt: String = SettlementTime.createdAt,
        name: String? = nil
    ) throws -> String {
        let bytes = try SettlementBytes.file(
            header: SettlementBytes.header(sequence: sequence, createdAt: createdAt),
            body: body.map { Array($0.utf8) },
            key: try secret("SKYWAYS-2026A")
        )
        return try file(bytes, name: name)
    }

    /// Ingests `path` and requires it to be accepted.
    @discardableResult
    func ingestAccepted(
        _ path: String,
        chunkRecords: Int? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> IngestResult {
        let result = try ingest(path, chunkRecords: chunkRecords)
        #expect(result.status == .accepted, "\(path) was not accepted", sourceLocation: sourceLocation)
        try #require(result.status == .accepted, sourceLocation: sourceLocation)
        return result
    }

    /// The names in the outbox, sorted.
    func outboxNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: outbox).sorted()
    }

    var image: SettlementLedgerImage {
        get throws { try SettlementLedgerImage(ledger: ledger, store: store) }
    }

    /// Checks that the ledger, in memory and in the store, is exactly as in `before`.
    func expectUnchanged(
        since before: SettlementLedgerImage,
        _ comment: Comment? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let after = try image
        before.expectEqual(after, comment, sourceLocation: sourceLocation)
    }
}

/// Everything a ledger holds: the engine's state in memory and every row of its store.
@dynamicMemberLookup
struct SettlementLedgerImage: Equatable {
    var state: StateImage
    var dump: String

    /// The state's parts (`lastSeq`, `records`, …) by name.
    subscript<Part>(dynamicMember part: KeyPath<StateImage, Part>) -> Part { state[keyPath: part] }

    init(ledger: Ledger, store: SQLiteStore) throws {
        state = StateImage(ledger.state)
        dump = try store.contentDump()
    }

    /// Compares part by part, so a failure says which part differs.
    func expectEqual(
        _ other: SettlementLedgerImage,
        _ comment: Comment? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let note = comment.map { " (\($0))" } ?? ""
        #expect(state == other.state, "the state in memory differs\(note)", sourceLocation: sourceLocation)
        #expect(dump == other.dump, "the store's content differs\(note)", sourceLocation: sourceLocation)
    }
}

/// Settlement files built from `docs/settlement-format.md` alone: the trailer and the
/// signature are computed here, not by the code under test, so a test can write any file a
/// partner's system might send, right or wrong, and re-sign it.
enum SettlementBytes {
    static let newline = UInt8(ascii: "\n")

    static func header(
        kind: String = "COALITION-SETTLEMENT",
        direction: String = "P2C",
        partner: String = "SKYWAYS",
        sequence: Int64,
        createdAt: String = SettlementTime.createdAt,
        keyID: String = "SKYWAYS-2026A"
    ) -> [UInt8] {
        Array("H|\(kind)|1|\(direction)|\(partner)|\(sequence)|\(createdAt)|\(keyID)".utf8)
    }

    /// The trailer of `body` as §6 defines it: every body line counts; each record type's
    /// count, and the sum of the amount fields that are numbers (§2).
    static func trailer(_ body: [[UInt8]]) -> [UInt8] {
        let types = ["ENROLL", "EARN", "REDEEM", "REVERSAL"]
        var counts: [String: Int] = [:]
        var totals: [String: Int128] = [:]
        for line in body {
            let fields = line.split(separator: UInt8(ascii: "|"), omittingEmptySubsequences: false)
            let type = String(decoding: fields[0], as: UTF8.self)
            guard types.contains(type) else { continue }
            counts[type, default: 0] += 1
            if type != "ENROLL", fields.count > 3, let amount = number(fields[3]) {
                totals[type, default: 0] += amount
            }
        }
        let parts =
            ["\(body.count)", "\(counts["ENROLL"] ?? 0)"]
            + ["EARN", "REDEEM", "REVERSAL"].flatMap { ["\(counts[$0] ?? 0)", "\(totals[$0] ?? 0)"] }
        return Array(("T|" + parts.joined(separator: "|")).utf8)
    }

    /// §2 number: `0`, or `1`-`9` followed by digits, at most 18 digits.
    static func number(_ bytes: ArraySlice<UInt8>) -> Int128? {
        guard (1...18).contains(bytes.count), bytes.allSatisfy({ (48...57).contains($0) }) else { return nil }
        guard bytes.count == 1 || bytes.first != 48 else { return nil }
        return Int128(String(decoding: bytes, as: UTF8.self))
    }

    /// `lines`, each with its LF, then `S|<HMAC-SHA256 of those bytes under key>` and a LF.
    static func signing(_ lines: [[UInt8]], key: [UInt8]) throws -> [UInt8] {
        let unsigned = unsignedBytes(lines)
        let mac = try HMACSHA256.authenticationCode(for: unsigned, using: key)
        return unsigned + Array("S|\(Hex.encode(mac))\n".utf8)
    }

    static func unsignedBytes(_ lines: [[UInt8]]) -> [UInt8] {
        lines.flatMap { $0 + [newline] }
    }

    /// A whole signed file: header, body, the body's trailer, signature.
    static func file(header: [UInt8], body: [[UInt8]], key: [UInt8]) throws -> [UInt8] {
        try signing([header] + body + [trailer(body)], key: key)
    }

    /// The lines of a file without their LFs (the file must end with LF).
    static func lines(_ bytes: [UInt8]) -> [[UInt8]] {
        var lines = bytes.split(separator: newline, omittingEmptySubsequences: false).map(Array.init)
        if lines.last == [] { lines.removeLast() }
        return lines
    }

    /// `bytes` with the signature line replaced by the signature of everything before it.
    static func resigned(_ bytes: [UInt8], key: [UInt8]) throws -> [UInt8] {
        try signing(Array(lines(bytes).dropLast()), key: key)
    }
}

/// Reading what the coalition wrote.
enum SettlementAck {
    /// The lines of the file at `path`, without their LFs.
    static func lines(_ path: String) throws -> [String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return SettlementBytes.lines(Array(data)).map { String(decoding: $0, as: UTF8.self) }
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The acknowledgement of `result`, required to exist.
    static func lines(of result: IngestResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        let path = try #require(
            result.acknowledgement,
            "no acknowledgement was written",
            sourceLocation: sourceLocation
        )
        return try lines(path)
    }
}

extension IngestResult {
    /// The reason code of a file rejected whole; nil otherwise.
    var settlementRejectionCode: ReasonCode? {
        if case .rejected(let error) = status { return error.code }
        return nil
    }
}

/// Member numbers for the tests, with their check digits.
enum SettlementMembers {
    static func number(_ index: Int) -> MemberNumber { ActivityGenerator.memberNumber(index) }
}
