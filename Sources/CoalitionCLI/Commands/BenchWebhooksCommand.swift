import CoalitionFiles
import CoalitionKit
import CoalitionSQLite
import CoalitionServer
import Foundation

/// `coalition bench webhooks`: events delivered to a receiver that goes away in the middle.
struct BenchWebhooksCommand: Command {
    static let path = ["bench", "webhooks"]
    static let summary = "measure webhook delivery: N events to a local receiver stopped and restarted midway"
    static let synopsis = ""
    static let options: [OptionSpec] = [
        .value("events", "N", "events in the outbox (default 100,000)"),
        .value("seconds", "S", "give up after S seconds of delivery (default 120)"),
        .value("partners", "DIR", "the network's partner definitions (default partners/)"),
    ]
    static let discussion = """
        Run it on a release build: `swift run -c release coalition bench webhooks`. A new
        SQLite ledger in a temporary directory gets N events for SKYWAYS in its outbox (one
        transaction); a webhook receiver on a loopback port (TLS, its own certificate, Standard
        Webhooks signatures verified, deduplicating by webhook-id) takes them from the
        server's delivery worker, passes of up to 512 events over one keep-alive connection,
        each pass's attempts recorded in one transaction. When half the events have arrived the
        receiver is stopped (its listener closed and its connections dropped) and started again
        a second later on the same port. The retry schedule is shortened to 1 s, 2 s cap, so the
        run shows the delivery rate, not a 30 s wait. It reports the rate, the failed attempts,
        the duplicates the receiver dropped, and whether every event arrived exactly once
        after deduplication. docs/performance.md has the figures of this machine.
        """

    struct Figures: Encodable {
        var events: Int
        var enqueueSeconds: Double
        var deliverSeconds: Double
        var eventsPerSecond: Double
        var passes: Int
        var failedAttempts: Int64
        var duplicatesDropped: Int
        var delivered: Int64
        var receivedOnce: Int
        var lost: Int
        var complete: Bool
    }

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let count = try context.arguments.integer("events", default: 100_000, in: 1...10_000_000)
        let limit = Double(try context.arguments.integer("seconds", default: 120, in: 1...3600))
        let root = NSTemporaryDirectory() + "coalition-bench-webhooks-\(getpid())"
        try? FileManager.default.removeItem(atPath: root)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        func say(_ text: String) { if !context.json { Output.error(text) } }

        let partner = try PartnerID("SKYWAYS")
        let secret = try secureRandomBytes(32)
        let secretFile = root + "/webhook.secret"
        _ = FileManager.default.createFile(
            atPath: secretFile,
            contents: Data(("whsec_" + Data(secret).base64EncodedString() + "\n").utf8),
            attributes: [.posixPermissions: 0o600]
        )
        let tls = try WebhookReceiverServer.makeCertificate(in: root + "/receiver")
        let receiver = WebhookReceiver(key: secret, keepsBodies: false)
        var server = try WebhookReceiverServer(receiver: receiver, tls: tls)
        let port = server.port
        let endpoint = WebhookEndpoint(
            host: "127.0.0.1",
            port: port,
            path: "/events",
            secretFile: secretFile,
            trustFile: tls.certificatePath
        )
        let network = try NetworkLoader.load(directory: context.arguments.value("partners") ?? "partners")
            .withWebhook(endpoint, for: partner)
        let store = try SQLiteStore(path: root + "/ledger.sqlite", create: true)
        let writer = LedgerWriter(ledger: try Ledger(network: network, store: store))
        defer { try? writer.shutdown() }
        let delivery = try WebhookDelivery(writer: writer, schedule: RetrySchedule(base: 1, cap: 2, attempts: 20)) {
            Clock.now
        }

        say("bench webhooks: \(count) events into the outbox …")
        let now = Clock.now
        let events = (0..<count).map { n in
            OutboxEvent(
                id: "evt_bench_\(n)",
                partner: partner,
                type: .pointsExpiring,
                createdAt: now,
                data: ["n": .integer(Int64(n)), "issuer": .string(partner.rawValue)]
            )
        }
        let enqueueStart = ContinuousClock.now
        try writer.perform { ledger in
            guard let outbox = ledger.store as? any EventOutbox else {
                throw CoalitionError(.storeFailure, "this ledger's store keeps no outbox of events")
            }
            _ = try outbox.enqueue(events, at: now)
        }
        let enqueueSeconds = seconds(ContinuousClock.now - enqueueStart)

        say("bench webhooks: delivering to https://127.0.0.1:\(port)/events; the receiver stops at \(count / 2) …")
        let start = ContinuousClock.now
        var passes = 0
        var restarted = false
        var pending = Int64(count)
        while pending > 0 && seconds(ContinuousClock.now - start) < limit {
            let pass = try delivery.deliverDue()
            passes += 1
            if !restarted && receiver.acceptedIDs.count >= count / 2 {
                server.stop()
                say("bench webhooks: receiver stopped after \(receiver.acceptedIDs.count) events; back in 1 s")
                // Deliveries meanwhile find nothing listening.
                try delivery.deliverDue()
                sleep(1)
                server = try WebhookReceiverServer(receiver: receiver, port: port, tls: tls)
                restarted = true
            }
            if pass.delivered == 0 && !pass.remaining { usleep(100_000) }
            pending = try delivery.outboxCounts().pending
        }
        let deliverSeconds = seconds(ContinuousClock.now - start)
        server.stop()
        let counts = try delivery.outboxCounts()
        let accepted = receiver.acceptedIDs
        let expected = Set(events.map(\.id))
        let figures = Figures(
            events: count,
            enqueueSeconds: enqueueSeconds,
            deliverSeconds: deliverSeconds,
            eventsPerSecond: Double(counts.delivered) / max(deliverSeconds, 0.000_001),
            passes: passes,
            failedAttempts: delivery.statistics.failedAttempts,
            duplicatesDropped: receiver.duplicates,
            delivered: counts.delivered,
            receivedOnce: accepted.count,
            lost: expected.subtracting(accepted).count,
            complete: accepted == expected && counts.delivered == Int64(count)
        )
        if context.json {
            Output.json(figures)
        } else {
            Output.line(
                "Webhook delivery: \(count) events to a receiver on 127.0.0.1 (TLS), stopped and restarted midway"
            )
            Output.line(
                String(format: "  outbox: %d events written in %.2f s (one transaction)", count, enqueueSeconds)
            )
            Output.line(
                String(
                    format: "  delivered: %lld in %.2f s, %.0f events/s, %d passes, %lld failed attempts",
                    counts.delivered,
                    deliverSeconds,
                    figures.eventsPerSecond,
                    passes,
                    figures.failedAttempts
                )
            )
            Output.line(
                "  receiver: \(accepted.count) distinct events, \(figures.duplicatesDropped) duplicates dropped, "
                    + "\(figures.lost) lost: " + (figures.complete ? "every event exactly once" : "INCOMPLETE")
            )
        }
        return figures.complete ? .success : .rejected
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
