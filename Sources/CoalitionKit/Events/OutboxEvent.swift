import Foundation

extension ReasonCode {
    /// `coalition events redeliver` named an event the outbox does not hold.
    package static let unknownEvent: ReasonCode = "UNKNOWN_EVENT"
    /// A receiver answered a delivery with a status other than 2xx.
    package static let webhookRefused: ReasonCode = "WEBHOOK_REFUSED"
    /// A delivery did not reach the receiver (connection, TLS, certificate or time-out).
    package static let webhookUnreachable: ReasonCode = "WEBHOOK_UNREACHABLE"
}

/// What an event tells a partner.
package enum EventType: String, Sendable, CaseIterable, Codable {
    case acknowledgementReady = "acknowledgement.ready"
    case statementReady = "statement.ready"
    case cycleClosed = "cycle.closed"
    case keyRotationScheduled = "key.rotation_scheduled"
    case pointsExpiring = "points.expiring"
}

/// One event for one partner, as the outbox holds it: a stable id (a receiver deduplicates
/// by it), the partner it goes to, and the exact body every delivery sends.
package struct OutboxEvent: Hashable, Sendable {
    package let id: String
    package let partner: PartnerID
    package let type: EventType
    package let createdAt: Timestamp
    /// The JSON body, byte for byte as signed and sent.
    package let body: [UInt8]

    package init(id: String, partner: PartnerID, type: EventType, createdAt: Timestamp, body: [UInt8]) {
        self.id = id
        self.partner = partner
        self.type = type
        self.createdAt = createdAt
        self.body = body
    }

    /// An event whose body is `{"data":…,"id":…,"timestamp":…,"type":…}` (keys sorted).
    package init(id: String, partner: PartnerID, type: EventType, createdAt: Timestamp, data: [String: EventValue]) {
        let envelope: [String: EventValue] = [
            "id": .string(id),
            "type": .string(type.rawValue),
            "timestamp": .string(createdAt.description),
            "data": .object(data),
        ]
        self.init(
            id: id,
            partner: partner,
            type: type,
            createdAt: createdAt,
            body: Array(EventValue.object(envelope).json.utf8)
        )
    }
}

/// A JSON value of an event's body: strings and integers only (no amount is ever a float),
/// written with sorted keys so the same event always has the same bytes.
package enum EventValue: Hashable, Sendable {
    case string(String)
    case integer(Int64)
    case object([String: EventValue])
    case array([EventValue])

    package var json: String {
        switch self {
        case .string(let text): return EventValue.quoted(text)
        case .integer(let number): return String(number)
        case .array(let items): return "[" + items.map(\.json).joined(separator: ",") + "]"
        case .object(let fields):
            return "{"
                + fields.keys.sorted().map { "\(EventValue.quoted($0)):\(fields[$0]!.json)" }.joined(separator: ",")
                + "}"
        }
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// Where an event stands.
package enum OutboxStatus: String, Sendable, CaseIterable, Codable {
    /// Not yet delivered; tried again at `nextAttemptAt`.
    case pending
    /// A receiver answered 2xx.
    case delivered
    /// Every attempt of the retry schedule failed; `coalition events redeliver` tries again.
    case failed
}

/// An event with its delivery so far.
package struct OutboxEntry: Hashable, Sendable {
    package var event: OutboxEvent
    package var status: OutboxStatus
    package var attempts: Int
    package var nextAttemptAt: Timestamp
    package var lastAttemptAt: Timestamp?
    /// The last failure, as `CODE: message` (never a secret).
    package var lastError: String?
    package var deliveredAt: Timestamp?

    package init(
        event: OutboxEvent,
        status: OutboxStatus = .pending,
        attempts: Int = 0,
        nextAttemptAt: Timestamp,
        lastAttemptAt: Timestamp? = nil,
        lastError: String? = nil,
        deliveredAt: Timestamp? = nil
    ) {
        self.event = event
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastAttemptAt = lastAttemptAt
        self.lastError = lastError
        self.deliveredAt = deliveredAt
    }
}

/// What one delivery attempt came to, as the store records it.
package enum DeliveryOutcome: Hashable, Sendable {
    case delivered(at: Timestamp)
    /// Failed at `at`; tried again at `retryAt`, or never (the schedule is spent) when nil.
    case failed(at: Timestamp, error: String, retryAt: Timestamp?)
}

/// One attempt to deliver event `eventID`.
package struct DeliveryAttempt: Hashable, Sendable {
    package let eventID: String
    package let outcome: DeliveryOutcome

    package init(eventID: String, outcome: DeliveryOutcome) {
        self.eventID = eventID
        self.outcome = outcome
    }
}

/// How many events stand in each status.
package struct OutboxCounts: Hashable, Sendable {
    package var pending: Int64 = 0
    package var delivered: Int64 = 0
    package var failed: Int64 = 0

    package init(pending: Int64 = 0, delivered: Int64 = 0, failed: Int64 = 0) {
        self.pending = pending
        self.delivered = delivered
        self.failed = failed
    }
}

/// The outbox of events to partners: a store that keeps it writes the events of a batch
/// (`BatchSummary.events`) in the batch's own transaction, and these calls each run in a
/// transaction of their own. Both ledger stores implement it.
package protocol EventOutbox: AnyObject {
    /// Adds `events` in one transaction of their own (events not caused by a batch: a key
    /// rotation, an expiring-points scan). An id already in the outbox is left as it is.
    /// Returns how many were new.
    @discardableResult
    func enqueue(_ events: [OutboxEvent], at now: Timestamp) throws -> Int

    /// Pending events due at `now` (next attempt at or before it), oldest first.
    func dueEvents(at now: Timestamp, limit: Int) throws -> [OutboxEntry]

    /// Records attempts, all in one transaction (a pass of the delivery worker).
    func recordAttempts(_ attempts: [DeliveryAttempt]) throws

    /// Events in `status` (every status when nil), oldest first, at most `limit`.
    func events(status: OutboxStatus?, limit: Int) throws -> [OutboxEntry]

    /// The event `id`, if the outbox holds it.
    func event(id: String) throws -> OutboxEntry?

    /// Makes event `id` pending again, due at `now`, whatever its status (attempts are kept).
    /// False when there is no such event.
    func redeliver(id: String, at now: Timestamp) throws -> Bool

    /// How many events stand in each status.
    func outboxCounts() throws -> OutboxCounts

    /// What an operator's dashboard shows as failing: events given up on, and pending ones
    /// that have failed at least once, most attempts first.
    func failingDeliveries(limit: Int) throws -> [OutboxEntry]
}
