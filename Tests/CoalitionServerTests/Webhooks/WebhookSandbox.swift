import CoalitionFiles
import CoalitionKit
import CoalitionSQLite
import CoalitionServer
import CoalitionTestSupport
import Foundation
import Testing

/// A clock the tests move by hand.
final class WebhookClock: @unchecked Sendable {
    // Safe to share: every access holds `lock`.
    private let lock = NSLock()
    private var current: Timestamp

    init(_ start: Timestamp) { current = start }

    var now: Timestamp { lock.withLock { current } }

    func advance(seconds: Int64) { lock.withLock { current = current.adding(seconds: seconds) } }

    func set(_ time: Timestamp) { lock.withLock { current = time } }
}

/// One test's data directory with the demo network, where SKYWAYS names a webhook at a
/// receiver on 127.0.0.1 (self-signed certificate, trusted by file), a ledger in SQLite, the
/// writer, the partner API and the delivery worker, all on a clock the test moves.
final class WebhookSandbox {
    let root: String
    let clock = WebhookClock(APITime.now)
    let key: [UInt8]
    let tls: HTTPServerConfiguration.TLSFiles
    let writer: LedgerWriter
    let api: PartnerAPI
    let delivery: WebhookDelivery
    let store: SQLiteStore
    private(set) var receiverServer: WebhookReceiverServer
    let port: Int

    /// `answer` is the receiver's status for each valid delivery; `trust` overrides the
    /// certificate file the sender trusts.
    init(
        schedule: RetrySchedule = .standard,
        trust: String? = nil,
        answer: @escaping @Sendable (WebhookReceiver.Delivery) -> Int = { _ in 204 }
    ) throws {
        let fileManager = FileManager.default
        root = makeTemporaryDirectory("webhooks")
        for folder in ["network", "keys", "inbox", "archive", "rejected", "outbox", "reports", "uploads"] {
            try fileManager.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true)
        }
        var secret = [UInt8](repeating: 0, count: 32)
        for index in secret.indices { secret[index] = UInt8.random(in: 0...255) }
        key = secret
        try Data(("whsec_" + Data(secret).base64EncodedString() + "\n").utf8)
            .write(to: URL(fileURLWithPath: root + "/keys/skyways-webhook.secret"))
        tls = try WebhookReceiverServer.makeCertificate(in: root + "/receiver")
        receiverServer = try WebhookReceiverServer(receiver: WebhookReceiver(key: secret, answer: answer), tls: tls)
        port = receiverServer.port
        for name in try fileManager.contentsOfDirectory(atPath: PackagePaths.partners) where name.hasSuffix(".json") {
            var data = try Data(contentsOf: URL(fileURLWithPath: PackagePaths.partners + "/" + name))
            if name == "skyways.json" {
                var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
                object["webhook"] = [
                    "url": "https://127.0.0.1:\(port)/coalition-events",
                    "secretFile": "../keys/skyways-webhook.secret",
                    "trust": trust ?? tls.certificatePath,
                ]
                data = try JSONSerialization.data(withJSONObject: object)
            }
            try data.write(to: URL(fileURLWithPath: root + "/network/" + name))
        }
        let network = try NetworkLoader.load(directory: root + "/network")
        for partner in network.sortedPartners {
            for info in partner.keys {
                let secret = try KeyFile.read(PackagePaths.partners + "/" + info.file)
                try KeyFile.write(secret, to: root + "/keys/\(info.id).key", comment: "test key \(info.id)")
            }
        }
        store = try SQLiteStore(path: root + "/ledger.sqlite", create: true)
        writer = LedgerWriter(ledger: try Ledger(network: network, store: store))
        let clock = clock
        api = try PartnerAPI(writer: writer, dataDirectory: root, now: { clock.now })
        delivery = try WebhookDelivery(writer: writer, schedule: schedule, timeout: .seconds(5)) { clock.now }
    }

    deinit {
        receiverServer.stop()
        try? writer.shutdown()
        try? FileManager.default.removeItem(atPath: root)
    }

    var receiver: WebhookReceiver { receiverServer.receiver }

    /// Stops the receiver: deliveries then find nothing listening.
    func stopReceiver() { receiverServer.stop() }

    /// Starts a receiver again on the same port, with the same certificate and secret.
    func restartReceiver(answer: @escaping @Sendable (WebhookReceiver.Delivery) -> Int = { _ in 204 }) throws {
        receiverServer = try WebhookReceiverServer(
            receiver: WebhookReceiver(key: key, answer: answer),
            port: port,
            tls: tls
        )
    }

    /// Runs `body` with the outbox, on the writer's thread.
    func outbox<T: Sendable>(_ body: @escaping @Sendable (any EventOutbox) throws -> T) throws -> T {
        try writer.perform { ledger in try body(ledger.store as! any EventOutbox) }
    }

    /// `count` events for SKYWAYS, ids `evt_test_<n>`.
    func enqueue(_ count: Int) throws {
        let at = clock.now
        let events = (0..<count).map { n in
            OutboxEvent(
                id: "evt_test_\(n)",
                partner: try! PartnerID("SKYWAYS"),
                type: .pointsExpiring,
                createdAt: at,
                data: ["n": .integer(Int64(n))]
            )
        }
        _ = try outbox { try $0.enqueue(events, at: at) }
    }

    /// SKYWAYS's signed settlement file number `sequence`, delivered through the API.
    func deliverFile(sequence: Int64) throws -> HTTPResponse {
        let keyID = "SKYWAYS-2026A"
        let body = SettlementLines.enrolAndEarn(Int(sequence), prefix: "SKY\(sequence)")
        let header = "H|COALITION-SETTLEMENT|1|P2C|SKYWAYS|\(sequence)|\(APITime.createdAt)|\(keyID)"
        let lines = [header] + body + [SettlementLines.trailer(body)]
        let unsigned = Array(lines.map { $0 + "\n" }.joined().utf8)
        let secret = try KeyFile.read(root + "/keys/\(keyID).key")
        let bytes =
            unsigned + Array("S|\(Hex.encode(try HMACSHA256.authenticationCode(for: unsigned, using: secret)))\n".utf8)
        let path = root + "/uploads/upload-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let signer = RequestSigner(partner: try PartnerID("SKYWAYS"), keyID: keyID, secret: secret)
        let request = try signer.request(
            method: "POST",
            target: "/v1/settlement-files",
            body: .file(path: path, length: Int64(bytes.count)),
            at: clock.now
        )
        return api.respond(to: request)
    }
}
