import CoalitionKit
import CoalitionServer
import Foundation

/// The demo's partner systems speaking to the network over HTTPS (`demo --serve`): the
/// server of `coalition serve`, in this process on a loopback port with the data
/// directory's demo certificate, for as long as one step of the demo needs it.
struct DemoServer {
    let data: DataDirectory
    let ledger: Ledger

    /// Runs `body` while a server owns the ledger; afterwards the writer has committed
    /// everything it took and the ledger is the caller's again.
    func run<T>(_ body: (_ url: String, _ client: (PartnerID) throws -> PartnerClient) throws -> T) throws -> T {
        let tls = try ServeCommand.demoCertificate(data)
        let writer = LedgerWriter(ledger: ledger)
        var served: Result<T, any Error>
        do {
            let responder = try ServeCommand.makeResponder(data, writer: writer)
            let configuration = HTTPServerConfiguration(host: "127.0.0.1", port: 0, tls: tls)
            let server = try HTTPServer(configuration: configuration, responder: responder)
            let stopped = DispatchSemaphore(value: 0)
            let thread = Thread {
                try? server.run()
                stopped.signal()
            }
            thread.start()
            served = Result {
                try body("https://127.0.0.1:\(server.port)") { partnerID in
                    try client(partnerID, port: server.port, trusting: tls.certificatePath)
                }
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

extension DemoCommand {
    /// A partner's system delivers the held-back file over HTTPS and fetches its
    /// acknowledgement again, as its back office would.
    static func deliverOverHTTPS(_ path: String, data: DataDirectory, ledger: Ledger) throws {
        let header = try headerOf(path)
        let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension  // without .held
        let length = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? 0
        try DemoServer(data: data, ledger: ledger).run { url, client in
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
        }
        try FileManager.default.removeItem(atPath: path)
    }

    /// Each partner's finance system fetches the cycle's statement over HTTPS.
    static func fetchStatementsOverHTTPS(cycle: Int64, data: DataDirectory, ledger: Ledger) throws {
        try DemoServer(data: data, ledger: ledger).run { url, client in
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
        }
    }
}
