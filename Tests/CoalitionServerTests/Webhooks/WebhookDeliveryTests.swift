import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

@testable import CoalitionServer

/// Events delivered to a real receiver on 127.0.0.1 over TLS: signed, retried, redelivered,
/// and none lost while the receiver is down.
@Suite("Webhooks: signed deliveries to a receiver on a real socket", .serialized)
struct WebhookDeliveryTests {
    @Test("a file's acknowledgement becomes one signed event that the receiver verifies")
    func acknowledgementEvent() throws {
        let sandbox = try WebhookSandbox()
        #expect(try sandbox.deliverFile(sequence: 1).status == 200)
        // The same file again changes nothing: the same event id, no second event.
        #expect(try sandbox.deliverFile(sequence: 1).status == 200)
        let pending = try sandbox.outbox { try $0.events(status: .pending, limit: 10) }
        #expect(pending.map(\.event.id) == ["evt_ack_SKYWAYS_1"])

        let pass = try sandbox.delivery.deliverDue()
        #expect(pass.delivered == 1 && pass.failedAttempts == 0)
        let deliveries = sandbox.receiver.deliveries
        try #require(deliveries.count == 1)
        let delivery = deliveries[0]
        #expect(delivery.isSignatureValid)
        #expect(delivery.id == "evt_ack_SKYWAYS_1")
        #expect(delivery.timestamp == sandbox.clock.now.seconds)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(delivery.body)) as? [String: Any])
        #expect(body["type"] as? String == "acknowledgement.ready")
        #expect(body["id"] as? String == "evt_ack_SKYWAYS_1")
        let data = try #require(body["data"] as? [String: Any])
        #expect(data["sequence"] as? Int == 1)
        #expect(data["accepted"] as? Int == 2)
        #expect(data["href"] as? String == "/v1/acknowledgements/1")

        let stored = try #require(try sandbox.outbox { try $0.event(id: "evt_ack_SKYWAYS_1") })
        #expect(stored.status == .delivered && stored.attempts == 1 && stored.deliveredAt == sandbox.clock.now)
        #expect(try sandbox.delivery.deliverDue().delivered == 0)

        // The operator's view: /metrics counts the outbox by status and what was delivered.
        let operations = OperationsEndpoints(
            metrics: RequestMetrics(),
            writer: sandbox.writer,
            webhooks: sandbox.delivery
        )
        let metrics = operations.exposition()
        guard case .bytes(let bytes) = metrics.body else {
            Issue.record("no metrics body")
            return
        }
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("coalition_webhook_events{status=\"delivered\"} 1\n"))
        #expect(text.contains("coalition_webhook_events{status=\"pending\"} 0\n"))
        #expect(text.contains("coalition_webhook_deliveries_total 1\n"))
    }

    @Test("a receiver answering 500 is tried again on the schedule, with the same id and body, until it answers 2xx")
    func retriedAfterFailures() throws {
        let answers = Counter()
        let sandbox = try WebhookSandbox { _ in
            answers.add()
            return answers.value <= 2 ? 500 : 204
        }
        try sandbox.enqueue(1)
        let start = sandbox.clock.now
        #expect(try sandbox.delivery.deliverDue().failedAttempts == 1)
        var entry = try #require(try sandbox.outbox { try $0.event(id: "evt_test_0") })
        #expect(entry.status == .pending && entry.attempts == 1)
        #expect(entry.lastError?.hasPrefix("WEBHOOK_REFUSED") == true)
        let firstDelay = try #require(RetrySchedule.standard.delay(afterFailures: 1, eventID: "evt_test_0"))
        #expect(entry.nextAttemptAt == start.adding(seconds: firstDelay))
        // Not due yet: nothing is sent.
        #expect(try sandbox.delivery.deliverDue() == WebhookPass())

        sandbox.clock.set(entry.nextAttemptAt)
        #expect(try sandbox.delivery.deliverDue().failedAttempts == 1)
        entry = try #require(try sandbox.outbox { try $0.event(id: "evt_test_0") })
        #expect(entry.attempts == 2)
        sandbox.clock.set(entry.nextAttemptAt)
        #expect(try sandbox.delivery.deliverDue().delivered == 1)
        entry = try #require(try sandbox.outbox { try $0.event(id: "evt_test_0") })
        #expect(entry.status == .delivered && entry.attempts == 3 && entry.lastError == nil)

        let deliveries = sandbox.receiver.deliveries
        #expect(deliveries.count == 3)
        #expect(Set(deliveries.map(\.id)) == ["evt_test_0"])
        #expect(Set(deliveries.map(\.body)).count == 1)
        #expect(deliveries.allSatisfy { $0.isSignatureValid })
        #expect(deliveries.map(\.status) == [500, 500, 204])
    }

    @Test("a receiver down for an hour loses nothing: every event arrives once it is back")
    func receiverDownForAnHour() throws {
        let sandbox = try WebhookSandbox()
        sandbox.stopReceiver()
        try sandbox.enqueue(40)
        // An hour of passes, two minutes apart, with nothing listening.
        for _ in 0..<30 {
            try sandbox.delivery.deliverDue()
            sandbox.clock.advance(seconds: 120)
        }
        let counts = try sandbox.outbox { try $0.outboxCounts() }
        #expect(counts == OutboxCounts(pending: 40, delivered: 0, failed: 0))
        let failing = try sandbox.outbox { try $0.failingDeliveries(limit: 100) }
        #expect(!failing.isEmpty)
        #expect(failing.allSatisfy { $0.lastError?.hasPrefix("WEBHOOK_UNREACHABLE") == true })

        try sandbox.restartReceiver()
        var passes = 0
        while try sandbox.outbox({ try $0.outboxCounts() }).pending > 0 && passes < 90 {
            try sandbox.delivery.deliverDue()
            sandbox.clock.advance(seconds: 120)
            passes += 1
        }
        #expect(try sandbox.outbox { try $0.outboxCounts() } == OutboxCounts(pending: 0, delivered: 40, failed: 0))
        #expect(sandbox.receiver.acceptedIDs == Set((0..<40).map { "evt_test_\($0)" }))
        #expect(sandbox.receiver.counts.invalid == 0)
    }

    @Test("an event delivered is delivered again on request, with the same id, and deduplicates to one")
    func redeliveredOnRequest() throws {
        let sandbox = try WebhookSandbox()
        try sandbox.enqueue(2)
        #expect(try sandbox.delivery.deliverDue().delivered == 2)
        let now = sandbox.clock.now
        #expect(try sandbox.outbox { try $0.redeliver(id: "evt_test_1", at: now) })
        #expect(!(try sandbox.outbox { try $0.redeliver(id: "evt_missing", at: now) }))
        #expect(try sandbox.delivery.deliverDue().delivered == 1)
        let ids = sandbox.receiver.deliveries.map(\.id)
        #expect(ids == ["evt_test_0", "evt_test_1", "evt_test_1"])
        #expect(sandbox.receiver.acceptedIDs.count == 2)
        #expect(sandbox.receiver.duplicates == 1)
    }

    @Test("an event whose schedule is spent is failed, shown as failing, and redelivery starts it again")
    func givenUpThenRedelivered() throws {
        let refusing = Counter()
        let sandbox = try WebhookSandbox(schedule: RetrySchedule(base: 10, cap: 20, attempts: 3)) { _ in
            refusing.add()
            return refusing.value <= 3 ? 503 : 200
        }
        try sandbox.enqueue(1)
        for _ in 0..<3 {
            try sandbox.delivery.deliverDue()
            sandbox.clock.advance(seconds: 30)
        }
        var entry = try #require(try sandbox.outbox { try $0.event(id: "evt_test_0") })
        #expect(entry.status == .failed && entry.attempts == 3)
        #expect(sandbox.delivery.statistics.givenUp == 1)
        #expect(try sandbox.outbox { try $0.failingDeliveries(limit: 10) }.map(\.event.id) == ["evt_test_0"])
        #expect(try sandbox.delivery.deliverDue() == WebhookPass())

        let now = sandbox.clock.now
        #expect(try sandbox.outbox { try $0.redeliver(id: "evt_test_0", at: now) })
        #expect(try sandbox.delivery.deliverDue().delivered == 1)
        entry = try #require(try sandbox.outbox { try $0.event(id: "evt_test_0") })
        #expect(entry.status == .delivered && entry.attempts == 4)
    }

    @Test("a receiver whose certificate is not the one trusted is never sent the event")
    func untrustedReceiver() throws {
        let other = try WebhookReceiverServer.makeCertificate(in: makeTemporaryDirectory("other-cert"))
        let sandbox = try WebhookSandbox(trust: other.certificatePath)
        try sandbox.enqueue(1)
        #expect(try sandbox.delivery.deliverDue().failedAttempts == 1)
        let entry = try #require(try sandbox.outbox { try $0.event(id: "evt_test_0") })
        #expect(entry.lastError?.hasPrefix("WEBHOOK_UNREACHABLE") == true)
        #expect(sandbox.receiver.counts.deliveries == 0)
    }

    @Test("a delivery signed with another secret is refused by the receiver and never counts as delivered")
    func wrongSecretRefused() throws {
        let receiver = WebhookReceiver(key: Array(repeating: 7, count: 32))
        let body = Array("{\"x\":1}".utf8)
        let signature = try WebhookSignature.signature(
            id: "evt_1",
            timestamp: 1,
            body: body,
            key: Array(repeating: 8, count: 32)
        )
        var headers = HTTPHeaders()
        headers.add("webhook-id", "evt_1")
        headers.add("webhook-timestamp", "1")
        headers.add("webhook-signature", signature)
        let request = HTTPRequest(
            head: HTTPRequestHead(method: "POST", target: "/", headers: headers, remoteAddress: "127.0.0.1"),
            body: .bytes(body)
        )
        #expect(receiver.respond(to: request).status == 401)
        #expect(receiver.acceptedIDs.isEmpty)
    }
}
