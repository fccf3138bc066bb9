import Foundation

/// The Standard Webhooks signature of a delivery: HMAC-SHA256 over `id.timestamp.body`
/// under the partner's webhook secret, sent as `webhook-signature: v1,<base64>` beside
/// `webhook-id` and `webhook-timestamp` (Unix seconds). docs/api.md has a test vector.
package enum WebhookSignature {
    /// The prefix of a secret in its file (`whsec_<base64 of the key bytes>`).
    package static let secretPrefix = "whsec_"

    /// The key bytes of a secret written `whsec_<base64>`; anything else is refused, without
    /// repeating it.
    package static func key(fromSecret text: String) throws -> [UInt8] {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.hasPrefix(secretPrefix),
            let bytes = Data(base64Encoded: String(trimmed.dropFirst(secretPrefix.count))),
            bytes.count >= 24, bytes.count <= 64
        else {
            throw CoalitionError(.badKey, "a webhook secret is whsec_ and the base64 of 24 to 64 random bytes")
        }
        return Array(bytes)
    }

    /// What is signed: `id.timestamp.body`.
    package static func signedContent(id: String, timestamp: Int64, body: [UInt8]) -> [UInt8] {
        Array("\(id).\(timestamp).".utf8) + body
    }

    /// The `webhook-signature` header's value: `v1,<base64 HMAC>`.
    package static func signature(id: String, timestamp: Int64, body: [UInt8], key: [UInt8]) throws -> String {
        let code = try HMACSHA256.authenticationCode(
            for: signedContent(id: id, timestamp: timestamp, body: body),
            using: key
        )
        return "v1," + Data(code).base64EncodedString()
    }

    /// Whether `header` (space-separated `v1,<base64>` entries, as a receiver may be sent
    /// during a secret's rotation) holds a valid signature of the delivery. Compared in
    /// constant time.
    package static func isValid(header: String, id: String, timestamp: Int64, body: [UInt8], key: [UInt8]) -> Bool {
        let content = signedContent(id: id, timestamp: timestamp, body: body)
        for entry in header.split(separator: " ") where entry.hasPrefix("v1,") {
            guard let code = Data(base64Encoded: String(entry.dropFirst(3))) else { continue }
            if (try? HMACSHA256.isValidAuthenticationCode(Array(code), authenticating: content, using: key)) == true {
                return true
            }
        }
        return false
    }
}

/// When a failed delivery is tried again: exponential backoff from `base`, doubled per
/// attempt up to `cap`, with up to a tenth of the delay added as jitter, for at most
/// `attempts` attempts. The jitter is drawn from the event id and the attempt number (a
/// seeded generator), so the schedule of an event is the same in every run and testable,
/// while events that failed together spread out instead of returning together.
package struct RetrySchedule: Hashable, Sendable {
    package var base: Int64
    package var cap: Int64
    package var attempts: Int

    /// 30 s, 1, 2, 4, 8, 16, 32 min, then hourly: 20 attempts span about 13 hours, so a
    /// receiver down for an hour (or a night) loses nothing.
    package static let standard = RetrySchedule(base: 30, cap: 3600, attempts: 20)

    package init(base: Int64, cap: Int64, attempts: Int) {
        precondition(base > 0 && cap >= base && attempts > 0)
        self.base = base
        self.cap = cap
        self.attempts = attempts
    }

    /// The delay in seconds before the next attempt after `failed` attempts have failed,
    /// or nil when the schedule is spent (the event is then `failed`).
    package func delay(afterFailures failed: Int, eventID: String) -> Int64? {
        guard failed >= 1, failed < attempts else { return nil }
        var delay = base
        for _ in 1..<failed where delay < cap { delay = min(cap, delay * 2) }
        var generator = SeededGenerator(seed: RetrySchedule.seed(eventID, failed))
        let jitter = Int64(generator.next() % UInt64(delay / 10 + 1))
        return delay + jitter
    }

    /// FNV-1a of the id and the attempt: the same in every process (Swift's `Hasher` is not).
    static func seed(_ id: String, _ attempt: Int) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in Array(id.utf8) + [UInt8(truncatingIfNeeded: attempt)] {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return hash
    }
}
