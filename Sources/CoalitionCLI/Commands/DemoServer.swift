import CoalitionFiles
import CoalitionKit
import CoalitionServer
import Foundation

/// The demo's partner systems speaking to the network over HTTPS (`demo --serve`): the
/// server of `coalition serve`, in this process on a loopback port with the data
/// directory's demo certificate, for as long as one step of the demo needs it.
struct DemoServer {
    let data: DataDirectory
    let ledger: Ledger
    /// The demo's webhook receiver, when the ledger's network names it.
    var webhook: DemoWebhook? = nil

    /// Runs `body` while a server owns the ledger; afterwards the writer has committed
    /// everything it took and the ledger is the caller's again. `body`'s third argument runs
    /// one pass of the server's webhook worker and returns what it delivered.
    func run<T>(
        _ body: (
            _ url: String, _ client: (PartnerID) throws -> PartnerClient,
            _ deliverEvents: () throws -> [WebhookReceiver.Delivery]
        ) throws -> T
    ) throws -> T {
        let tls = try ServeCommand.demoCertificate(data)
        let writer = LedgerWriter(ledger: ledger)
        var served: Result<T, any Error>
        do {
            let delivery = try WebhookDelivery(writer: writer) { Clock.now }
            let deliverEvents = { () throws -> [WebhookReceiver.Delivery] in
                guard let receiver = webhook?.server.receiver else { return [] }
                let before = receiver.deliveries.count
                try delivery.deliverDue()
                return Array(receiver.deliveries.dropFirst(before))
            }
            let responder = try ServeCommand.makeResponder(data, writer: writer, webhooks: delivery)
            let configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0, tls: tls)
            let server = try HTTPServer(configuration: configuration, responder: responder)
            let stopped = DispatchSemaphore(value: 0)
            let thread = Thread {
                try? server.run()
                stopped.signal()
            }
            thread.start()
            served = Result {
                try body(
                    "https://127.0.0.1:\(server.port)",
                    { partnerID in try client(partnerID, port: server.port, trusting: tls.certificatePath) },
                    deliverEvents
                )
            }
            server.shutdown()
            stopped.wait()
        } catch {
            served = .failure(error)
        }
        try writer.shutdown()
        return try served.get()
    }

    /// A partner's system, signing with its key valid now that became valid last.
    private func client(_ partnerID: PartnerID, port: Int, trusting caPath: String) throws -> PartnerClient {
        let partner = try ledger.network.partner(partnerID)
        let key = try data.keyRing(for: partner).signingKey(at: Clock.now)
        let signer = RequestSigner(partner: partnerID, keyID: key.info.id, secret: key.secret)
        let http = try HTTPSClient(host: "127.0.0.1", port: port, trusting: caPath)
        return PartnerClient(signer: signer, http: http) { Clock.now }
    }
}

/// SKYWAYS's back office taking its events (`demo --serve`): a webhook receiver on a loopback
/// port with a certificate of its own, for as long as the demo runs. The demo's ledger runs
/// with a network where SKYWAYS names it; the data directory's files are left as they are.
final class DemoWebhook {
    static let partner = try! PartnerID("SKYWAYS")
    let server: WebhookReceiverServer
    let endpoint: WebhookEndpoint

    init(data: DataDirectory) throws {
        let secret = try secureRandomBytes(32)
        let secretFile = data.path("keys", "\(DemoWebhook.partner)-webhook.secret")
        guard
            FileManager.default.createFile(
                atPath: secretFile,
                contents: Data(("whsec_" + Data(secret).base64EncodedString() + "\n").utf8),
                attributes: [.posixPermissions: 0o600]
            )
        else { throw CoalitionError(.io, "cannot write the demo's webhook secret", at: Place(file: secretFile)) }
        let tls = try WebhookReceiverServer.makeCertificate(in: data.path("tls", "receiver"))
        server = try WebhookReceiverServer(receiver: WebhookReceiver(key: secret), tls: tls)
        endpoint = WebhookEndpoint(
            host: "127.0.0.1",
            port: server.port,
            path: "/events",
            secretFile: secretFile,
            trustFile: tls.certificatePath
        )
    }

    /// Stops the receiver.
    func stop() { server.stop() }

    /// One line per event the receiver verified, and one for any it could not.
    static func describe(_ deliveries: [WebhookReceiver.Delivery]) -> [String] {
        deliveries.map { delivery in
            struct Event: Decodable { let type: String }
            let type = (try? JSONDecoder().decode(Event.self, from: Data(delivery.body)))?.type ?? "?"
            return "  webhook to \(partner)'s receiver: \(type) \(delivery.id), "
                + (delivery.isSignatureValid ? "signature verified" : "signature NOT verified")
                + ", answered \(delivery.status)"
        }
    }
}

extension DemoCommand {
    /// A partner's system delivers the held-back file over HTTPS and fetches its
    /// acknowledgement again, as its back office would.
    static func deliverOverHTTPS(_ path: String, data: DataDirectory, ledger: Ledger, webhook: DemoWebhook?) throws {
        let header = try headerOf(path)
        let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension  // without .held
        let length = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0
        try DemoServer(data: data, ledger: ledger, webhook: webhook).run { url, client, deliverEvents in
            let partner = try client(header.partner)
            Output.line("Over HTTPS: `coalition serve` on \(url), with the demo certificate \(data.path("tls"))/")
            let delivered = try partner.deliver(settlementFile: path, length: length)
            let outbox = Ingestor.acknowledgementPath(data.path("outbox"), header)
            let written = FileManager.default.contents(atPath: outbox).map { [UInt8]($0) }
            Output.line(
                "  \(header.partner) POST /v1/settlement-files \(name): \(delivered.status), "
                    + "\(delivered.body.count)-byte signed acknowledgement, "
                    + (written == delivered.body ? "the same bytes as outbox/" : "NOT the bytes of outbox/")
            )
            let fetched = try partner.acknowledgement(sequence: header.sequence)
            Output.line(
                "  \(header.partner) GET /v1/acknowledgements/\(header.sequence): \(fetched.status), "
                    + (fetched.body == delivered.body ? "the same acknowledgement" : "ANOTHER acknowledgement")
            )
            if let webhook {
                let deliveries = try deliverEvents()
                Output.line(
                    "  \(DemoWebhook.partner)'s webhook receiver (\(webhook.endpoint.url)): "
                        + "\(deliveries.count) events from the outbox, signed"
                )
                for line in DemoWebhook.describe(deliveries) { Output.line(line) }
            }
        }
        try FileManager.default.removeItem(atPath: path)
    }

    /// A member pays with points at the hotel's front desk: HARBOR's property system asks
    /// what the member can redeem, then redeems part of it as one record, answered once
    /// durable.
    static func redeemAtThePointOfSale(client: (PartnerID) throws -> PartnerClient) throws {
        let hotel = try PartnerID("HARBOR")
        let desk = try client(hotel)
        // The demo's first member: enrolled by the seeds, with points of several issuers.
        let member = "6001000000010"
        let inquiry = try desk.send("GET", "/v1/members/\(member)")
        // What the demo reads of the balance inquiry's and the record's answers.
        struct Balance: Decodable {
            let points: Int64?
            let units: Int64?
            let unit: String?
        }
        struct Receipt: Decodable {
            let outcome: String?
            let code: String?
            let points: Int64?
        }
        let balance = try? JSONDecoder().decode(Balance.self, from: Data(inquiry.body))
        let units = balance?.units ?? 0
        let unit = balance?.unit ?? ""
        Output.line(
            "  \(hotel) GET /v1/members/\(member) at the front desk: \(inquiry.status), "
                + "\(balance?.points ?? 0) points spendable, up to \(units) \(unit)"
        )
        guard inquiry.status == 200, units > 0 else { return }
        let redeem = min(units, 2_000)
        let record = RecordRequest(
            type: "REDEEM",
            recordId: "FD-DEMO-000001",
            member: member,
            units: redeem,
            occurredAt: Clock.now.description
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = try encoder.encode(record)
        let answer = try desk.send(
            "POST",
            "/v1/records",
            body: Array(body),
            fields: [("Content-Type", "application/json")]
        )
        let receipt = try? JSONDecoder().decode(Receipt.self, from: Data(answer.body))
        Output.line(
            "  \(hotel) POST /v1/records REDEEM \(redeem) \(unit): \(answer.status) "
                + "\(receipt?.outcome ?? receipt?.code ?? "?"), "
                + "\(receipt?.points ?? 0) points, "
                + (answer.headers["Coalition-Signature"] != nil ? "answer signed" : "answer NOT signed")
        )
    }

    /// Each partner's finance system fetches the cycle's statement over HTTPS; a member pays
    /// with points at a hotel's front desk; SKYWAYS's receiver is told of the cycle.
    static func fetchStatementsOverHTTPS(
        cycle: Int64,
        data: DataDirectory,
        ledger: Ledger,
        webhook: DemoWebhook?
    )
        throws
    {
        try DemoServer(data: data, ledger: ledger, webhook: webhook).run { url, client, deliverEvents in
            Output.line("Over HTTPS (\(url)):")
            for partner in ledger.network.sortedPartners {
                let fetched = try client(partner.id).statement(cycle: cycle)
                let outbox = data.path("outbox", Statement.fileName(for: partner.id, cycle: cycle))
                let written = FileManager.default.contents(atPath: outbox).map { [UInt8]($0) }
                Output.line(
                    "  \(partner.id) GET /v1/statements/\(cycle): \(fetched.status), "
                        + (written == fetched.body ? "its signed statement, as in outbox/" : "NOT its outbox statement")
                )
            }
            // After the cycle: the redemption is the next cycle's, and cycle 1 stays the plain demo's.
            try redeemAtThePointOfSale(client: client)
            for line in DemoWebhook.describe(try deliverEvents()) { Output.line(line) }
        }
    }
}
