import CoalitionKit
import Foundation

/// A receiver of Coalition's webhooks, as a partner would write one: it verifies each
/// delivery's signature under the partner's secret, answers, and deduplicates by
/// `webhook-id`. What the demo, the tests and the webhook benchmark deliver to; docs/api.md
/// describes the same steps for a partner's own receiver.
package final class WebhookReceiver: HTTPResponder, @unchecked Sendable {
    // Safe to share: `key` and `answer` are immutable; the record of deliveries is read and
    // written under `lock`.

    /// One delivery as received.
    package struct Delivery: Sendable, Equatable {
        package let id: String
        package let timestamp: Int64
        package let body: [UInt8]
        package let isSignatureValid: Bool
        /// What the receiver answered.
        package let status: Int
    }

    private let key: [UInt8]
    private let answer: @Sendable (Delivery) -> Int
    private let keepsBodies: Bool
    private let lock = NSLock()
    private var received: [Delivery] = []
    private var accepted: [String: Int] = [:]
    private var deliveryCount = 0
    private var invalidCount = 0

    /// A receiver verifying under `key`. `answer` gives the status of each delivery with a
    /// valid signature (204 unless told otherwise); an invalid one is answered 401 and never
    /// accepted. `keepsBodies` false keeps only ids and counts (for a benchmark's volume).
    package init(
        key: [UInt8],
        keepsBodies: Bool = true,
        answer: @escaping @Sendable (Delivery) -> Int = { _ in 204 }
    ) {
        self.key = key
        self.keepsBodies = keepsBodies
        self.answer = answer
    }

    package func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy { .inMemory(maximum: 1 << 20) }

    package func respond(to request: HTTPRequest) -> HTTPResponse {
        guard request.head.method == "POST" else { return HTTPResponse(status: 405) }
        let headers = request.head.headers
        guard let id = headers["webhook-id"], let timestampText = headers["webhook-timestamp"],
            let timestamp = Int64(timestampText), let signature = headers["webhook-signature"],
            case .bytes(let body) = request.body
        else { return HTTPResponse(status: 400) }
        let isValid = WebhookSignature.isValid(header: signature, id: id, timestamp: timestamp, body: body, key: key)
        var delivery = Delivery(id: id, timestamp: timestamp, body: body, isSignatureValid: isValid, status: 401)
        if isValid {
            delivery = Delivery(
                id: id,
                timestamp: timestamp,
                body: body,
                isSignatureValid: true,
                status: answer(delivery)
            )
        }
        lock.withLock {
            deliveryCount += 1
            if !isValid { invalidCount += 1 }
            if (200...299).contains(delivery.status) { accepted[id, default: 0] += 1 }
            if keepsBodies { received.append(delivery) }
        }
        return HTTPResponse(status: delivery.status)
    }

    /// Every delivery so far, in the order received (empty unless `keepsBodies`).
    package var deliveries: [Delivery] { lock.withLock { received } }

    /// The ids of the events accepted (answered 2xx), each once: what a receiver that
    /// deduplicates has processed.
    package var acceptedIDs: Set<String> { lock.withLock { Set(accepted.keys) } }

    /// How many deliveries of an id already accepted arrived again (at-least-once's
    /// duplicates, which deduplication drops).
    package var duplicates: Int { lock.withLock { accepted.values.reduce(0) { $0 + $1 - 1 } } }

    /// How many requests arrived, and how many of them had no valid signature.
    package var counts: (deliveries: Int, invalid: Int) { lock.withLock { (deliveryCount, invalidCount) } }
}

/// A `WebhookReceiver` listening on a thread of its own (HTTPS on `host`, port 0 for any).
package final class WebhookReceiverServer: Sendable {
    package let server: HTTPServer
    package let receiver: WebhookReceiver
    private let stopped = StopSignal()

    package init(
        receiver: WebhookReceiver,
        host: String = "127.0.0.1",
        port: Int = 0,
        tls: HTTPServerConfiguration.TLSFiles
    )
        throws
    {
        self.receiver = receiver
        var configuration = HTTPServerConfiguration(host: host, port: port, tls: tls)
        configuration.shutdownGrace = .seconds(2)
        server = try HTTPServer(configuration: configuration, responder: receiver)
        let thread = Thread { [server, stopped] in
            try? server.run()
            stopped.open()
        }
        thread.name = "coalition-webhook-receiver"
        thread.start()
    }

    package var port: Int { server.port }

    /// Stops listening and returns once the server's thread is done.
    package func stop() {
        server.shutdown()
        stopped.wait()
    }

    /// A new self-signed certificate for `localhost` and 127.0.0.1 in `folder` (made if
    /// missing): the receiver's, which the sender trusts explicitly.
    package static func makeCertificate(in folder: String) throws -> HTTPServerConfiguration.TLSFiles {
        try FileManager.default.createDirectory(
            atPath: folder,
            withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700]
        )
        let files = HTTPServerConfiguration.TLSFiles(
            certificatePath: (folder as NSString).appendingPathComponent("receiver-cert.pem"),
            keyPath: (folder as NSString).appendingPathComponent("receiver-key.pem")
        )
        try makeSelfSignedCertificate(certificatePath: files.certificatePath, keyPath: files.keyPath)
        return files
    }
}

/// A signal threads wait for until it is given (and stays given).
final class StopSignal: @unchecked Sendable {
    // Safe to share: every access holds `condition`.
    private let condition = NSCondition()
    private var isOpen = false

    func open() {
        condition.lock()
        isOpen = true
        condition.broadcast()
        condition.unlock()
    }

    func wait() {
        condition.lock()
        while !isOpen { condition.wait() }
        condition.unlock()
    }
}
