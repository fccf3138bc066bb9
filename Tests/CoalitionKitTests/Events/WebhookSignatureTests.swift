import CoalitionTestSupport
import Foundation
import Testing

@testable import CoalitionKit

@Suite("Webhook signatures, event bodies and the retry schedule")
struct WebhookSignatureTests {
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    @Test("Standard Webhooks' own test vector signs as the specification says")
    func standardWebhooksVector() throws {
        let key = try WebhookSignature.key(fromSecret: Self.secret)
        let body = Array(#"{"test": 2432232314}"#.utf8)
        let signature = try WebhookSignature.signature(
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek",
            timestamp: 1_614_265_330,
            body: body,
            key: key
        )
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test("the test vector of docs/api.md: the event's body, and its signature, are the documented bytes")
    func documentedVector() throws {
        let event = OutboxEvent(
            id: "evt_ack_HARBOR_7",
            partner: try PartnerID("HARBOR"),
            type: .acknowledgementReady,
            createdAt: try Timestamp(parsing: "2026-12-07T10:00:00Z"),
            data: [
                "partner": .string("HARBOR"), "sequence": .integer(7), "records": .integer(4),
                "accepted": .integer(3), "rejected": .integer(1), "href": .string("/v1/acknowledgements/7"),
            ]
        )
        let body = String(decoding: event.body, as: UTF8.self)
        let signature = try WebhookSignature.signature(
            id: event.id,
            timestamp: 1_796_637_605,
            body: event.body,
            key: try WebhookSignature.key(fromSecret: Self.secret)
        )
        let document = try String(contentsOfFile: Fixtures.packageRoot + "/docs/api.md", encoding: .utf8)
        #expect(document.contains(body))
        #expect(document.contains(Self.secret))
        #expect(document.contains("1796637605"))
        #expect(document.contains(signature))
        #expect(signature == "v1,K2BLgmDUT0LivhpdCa+qryc8el2u+P1i9cKpYsuwHV4=")
    }

    @Test("a signature verifies, and any change of id, time, body or key fails it", arguments: 0..<20)
    func tamperingFails(seed: Int) throws {
        var generator = SeededGenerator(seed: UInt64(seed))
        let key = (0..<32).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let body = (0..<Int(generator.next() % 300)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let id = "evt_\(generator.next() % 100_000)"
        let timestamp = Int64(generator.next() % 2_000_000_000)
        let header = try WebhookSignature.signature(id: id, timestamp: timestamp, body: body, key: key)
        #expect(WebhookSignature.isValid(header: header, id: id, timestamp: timestamp, body: body, key: key))
        // Beside another (a rotated secret's), in either order.
        let other = try WebhookSignature.signature(id: id, timestamp: timestamp, body: body, key: key.reversed())
        #expect(
            WebhookSignature.isValid(header: other + " " + header, id: id, timestamp: timestamp, body: body, key: key)
        )
        #expect(!WebhookSignature.isValid(header: header, id: id + "x", timestamp: timestamp, body: body, key: key))
        #expect(!WebhookSignature.isValid(header: header, id: id, timestamp: timestamp + 1, body: body, key: key))
        #expect(!WebhookSignature.isValid(header: header, id: id, timestamp: timestamp, body: body + [0], key: key))
        var otherKey = key
        otherKey[Int(generator.next() % 32)] ^= 1
        #expect(!WebhookSignature.isValid(header: header, id: id, timestamp: timestamp, body: body, key: otherKey))
    }

    @Test("a secret that is not whsec_ and base64 of 24 to 64 bytes is refused without being repeated")
    func malformedSecrets() {
        for text in ["", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_c2hvcnQ=", "whsec_not base64!"] {
            #expect(throws: CoalitionError.self) { try WebhookSignature.key(fromSecret: text) }
            do { _ = try WebhookSignature.key(fromSecret: text) } catch let error as CoalitionError {
                #expect(error.code == .badKey)
                #expect(text.isEmpty || text == "whsec_" || !error.message.contains(text))
            } catch {}
        }
    }

    @Test("the retry schedule doubles to its cap, adds at most a tenth as jitter, is the same every run, and ends")
    func retrySchedule() {
        let schedule = RetrySchedule.standard
        for n in 0..<200 {
            let id = "evt_\(n)"
            var total: Int64 = 0
            var nominal: Int64 = schedule.base
            for failures in 1..<schedule.attempts {
                let delay = schedule.delay(afterFailures: failures, eventID: id)!
                #expect(delay >= nominal && delay <= nominal + nominal / 10)
                #expect(delay == schedule.delay(afterFailures: failures, eventID: id))
                total += delay
                nominal = min(schedule.cap, nominal * 2)
            }
            #expect(schedule.delay(afterFailures: schedule.attempts, eventID: id) == nil)
            // A receiver down for an hour, or a night, is still being tried.
            #expect(total > 12 * 3600)
        }
        // Events that failed together do not all come back together.
        let delays = Set((0..<50).map { schedule.delay(afterFailures: 8, eventID: "evt_\($0)")! })
        #expect(delays.count > 10)
    }

    @Test("event bodies are JSON with sorted keys and escaped strings, the same bytes every time")
    func bodies() throws {
        let value = EventValue.object([
            "b": .string("quote \" backslash \\ newline \n tab \t bell \u{7}"),
            "a": .array([.integer(-5), .object([:])]),
        ])
        let parsed = try JSONSerialization.jsonObject(with: Data(value.json.utf8)) as? [String: Any]
        #expect(parsed?["b"] as? String == "quote \" backslash \\ newline \n tab \t bell \u{7}")
        #expect(value.json.hasPrefix(#"{"a":[-5,{}],"b":"#))
    }

    @Test("webhook URLs: https only, with an optional port and path")
    func endpoints() {
        let plain = WebhookEndpoint(url: "https://hooks.example.com/coalition")
        #expect(plain?.host == "hooks.example.com" && plain?.port == 443 && plain?.path == "/coalition")
        let local = WebhookEndpoint(url: "https://127.0.0.1:9443")
        #expect(local?.port == 9443 && local?.path == "/")
        let six = WebhookEndpoint(url: "https://[::1]:8444/x")
        #expect(six?.host == "::1" && six?.port == 8444 && six?.url == "https://[::1]:8444/x")
        for bad in ["http://example.com/", "https://", "https://host:port/", "https://host:70000/", "ftp://x"] {
            #expect(WebhookEndpoint(url: bad) == nil)
        }
    }
}
