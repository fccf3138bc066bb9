import CoalitionFiles
import CoalitionKit
import CoalitionSQLite
import CoalitionServer
import CoalitionTestSupport
import Foundation
import Testing

/// Paths of the package under test, from this file's place in
/// `Tests/CoalitionServerTests/Support/`.
enum PackagePaths {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let partners = root + "/partners"
    static let apiDocument = root + "/docs/api.md"
    static let openAPI = root + "/docs/openapi.json"
}

/// Fixed instants: the server's clock in every test, and the created-at of the files.
enum APITime {
    static let now = at("2026-11-22T10:00:00Z")
    static let createdAt = "2026-11-22T09:00:00Z"

    static func at(_ text: String) -> Timestamp {
        do { return try Timestamp(parsing: text) } catch { fatalError("not a time: \(text)") }
    }
}

/// One test's own data directory laid out as `coalition init` lays it out (the demo
/// network, its keys under keys/, the folders, a new ledger), a writer over the ledger and
/// the partner API over both, with the server's clock fixed at `APITime.now`.
final class APISandbox: Sendable {
    let root: String
    let writer: LedgerWriter
    let api: PartnerAPI
    let commits: CommitLog

    /// `referrals`, when given, is the network's referral programme (`network.json`,
    /// `referrals`), its `codeKeyFile` the published test key written as `referral.key`.
    init(capacity: Int = 64, maximumUploadBytes: Int64 = 1 << 20, referrals: [String: Any]? = nil) throws {
        let fileManager = FileManager.default
        root = (NSTemporaryDirectory() as NSString).appendingPathComponent("coalition-api-\(UUID().uuidString)")
        for folder in ["network", "keys", "inbox", "archive", "rejected", "outbox", "reports", "uploads"] {
            try fileManager.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true)
        }
        for name in try fileManager.contentsOfDirectory(atPath: PackagePaths.partners) where name.hasSuffix(".json") {
            try fileManager.copyItem(atPath: PackagePaths.partners + "/" + name, toPath: root + "/network/" + name)
        }
        if var referrals {
            try Data("# test key\n\(String(repeating: "00112233445566778899aabbccddeeff", count: 2))\n".utf8).write(
                to: URL(fileURLWithPath: root + "/network/referral.key")
            )
            referrals["codeKeyFile"] = "referral.key"
            let path = root + "/network/network.json"
            var object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
            if var dictionary = object as? [String: Any] {
                dictionary["referrals"] = referrals
                object = dictionary
            }
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
        }
        let network = try NetworkLoader.load(directory: root + "/network")
        for partner in network.sortedPartners {
            for info in partner.keys {
                let secret = try KeyFile.read(PackagePaths.partners + "/" + info.file)
                try KeyFile.write(secret, to: root + "/keys/\(info.id).key", comment: "test key \(info.id)")
            }
        }
        commits = CommitLog()
        let store = RecordingStore(try SQLiteStore(path: root + "/ledger.sqlite", create: true), log: commits)
        writer = LedgerWriter(ledger: try Ledger(network: network, store: store), capacity: capacity)
        api = try PartnerAPI(
            writer: writer,
            dataDirectory: root,
            maximumUploadBytes: maximumUploadBytes,
            now: { APITime.now }
        )
    }

    deinit {
        try? writer.shutdown()
        try? FileManager.default.removeItem(atPath: root)
    }

    /// A signer of `partner` with its demo key `keyID` (by default its 2026 key).
    func signer(_ partner: String = "SKYWAYS", keyID: String? = nil) throws -> RequestSigner {
        let id = keyID ?? "\(partner)-2026A"
        return RequestSigner(
            partner: try PartnerID(partner),
            keyID: id,
            secret: try KeyFile.read(root + "/keys/\(id).key")
        )
    }

    /// A signed settlement file of `partner` with `body` lines, as bytes.
    func settlementFile(
        _ partner: String = "SKYWAYS",
        sequence: Int64,
        body: [String],
        createdAt: String = APITime.createdAt
    ) throws -> [UInt8] {
        let keyID = "\(partner)-2026A"
        let header = "H|COALITION-SETTLEMENT|1|P2C|\(partner)|\(sequence)|\(createdAt)|\(keyID)"
        let lines = [header] + body + [SettlementLines.trailer(body)]
        let unsigned = Array(lines.map { $0 + "\n" }.joined().utf8)
        let mac = try HMACSHA256.authenticationCode(for: unsigned, using: KeyFile.read(root + "/keys/\(keyID).key"))
        return unsigned + Array("S|\(Hex.encode(mac))\n".utf8)
    }

    /// `bytes` as the transport hands an upload over: a file on disk with its length.
    func uploadBody(_ bytes: [UInt8]) throws -> HTTPRequestBody {
        let path = root + "/uploads/upload-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return .file(path: path, length: Int64(bytes.count))
    }

    /// The signed delivery of `bytes` by `partner`, answered.
    func deliver(_ bytes: [UInt8], as partner: String = "SKYWAYS") throws -> HTTPResponse {
        let request = try signer(partner).request(
            method: "POST",
            target: "/v1/settlement-files",
            body: try uploadBody(bytes),
            at: APITime.now
        )
        return api.respond(to: request)
    }

    /// A signed GET by `partner`, answered.
    func get(_ target: String, as partner: String = "SKYWAYS") throws -> HTTPResponse {
        api.respond(to: try signer(partner).request(method: "GET", target: target, at: APITime.now))
    }

    func outbox(_ name: String) -> String { root + "/outbox/" + name }
}

/// Settlement lines the tests write.
enum SettlementLines {
    /// A member number with a valid Luhn check digit, distinct for each `n`.
    static func member(_ n: Int) -> String {
        let payload = "6001" + String(format: "%08d", n)
        var sum = 0
        for (index, character) in payload.reversed().enumerated() {
            var digit = Int(String(character))!
            if index % 2 == 0 {
                digit *= 2
                if digit > 9 { digit -= 9 }
            }
            sum += digit
        }
        return payload + String((10 - sum % 10) % 10)
    }

    /// ENROLL then EARN of `points` for member `n`, with record ids made from `prefix`.
    static func enrolAndEarn(_ n: Int, prefix: String, miles: Int = 1_000) -> [String] {
        [
            "ENROLL|\(prefix)-E\(n)|\(member(n))|2026-11-21T08:00:00Z|",
            "EARN|\(prefix)-P\(n)|\(member(n))|\(miles)|2026-11-21T09:00:00Z|",
        ]
    }

    /// The trailer of `body`: line count, ENROLL count, then count and amount total of
    /// EARN, REDEEM and REVERSAL.
    static func trailer(_ body: [String]) -> String {
        var counts: [String: Int] = [:]
        var totals: [String: Int] = [:]
        for line in body {
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            counts[fields[0], default: 0] += 1
            if fields[0] != "ENROLL", let amount = Int(fields[3]) { totals[fields[0], default: 0] += amount }
        }
        let parts =
            ["\(body.count)", "\(counts["ENROLL"] ?? 0)"]
            + ["EARN", "REDEEM", "REVERSAL"].flatMap { ["\(counts[$0] ?? 0)", "\(totals[$0] ?? 0)"] }
        return "T|" + parts.joined(separator: "|")
    }
}

/// The bytes of a response body, read from disk when it is a file.
func bodyBytes(_ response: HTTPResponse) -> [UInt8] {
    switch response.body {
    case .bytes(let bytes): return bytes
    case .file(let path): return Array(FileManager.default.contents(atPath: path) ?? Data())
    }
}

/// The `{code, message}` of an error answer.
func errorBody(_ response: HTTPResponse) throws -> APIErrorBody {
    try JSONDecoder().decode(APIErrorBody.self, from: Data(bodyBytes(response)))
}
