import CoalitionKit
import Foundation

/// The outbox of events to partners in PostgreSQL (`webhook_events`): a batch's events go
/// in with the batch (`finish`); everything else here is one statement, its own
/// transaction, between batches.
extension PostgreSQLStore: EventOutbox {
    /// Inserts `events` in the transaction open on the connection (or each in its own when
    /// none is); an id already there is left as it is. Returns how many were new.
    @discardableResult
    func insert(_ events: [OutboxEvent], at now: Timestamp) throws -> Int {
        guard !events.isEmpty else { return 0 }
        var ids: [String] = []
        var partners: [String] = []
        var types: [String] = []
        var created: [String] = []
        var bodies: [String] = []
        for event in events {
            ids.append(event.id)
            partners.append(event.partner.rawValue)
            types.append(event.type.rawValue)
            created.append(String(event.createdAt.seconds))
            bodies.append(String(decoding: event.body, as: UTF8.self))
        }
        let rows = try connection.query(
            """
            INSERT INTO webhook_events (id, partner, type, created_at, body, next_attempt_at)
            SELECT e.id, e.partner, e.type, e.created_at, e.body, $6::bigint
            FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[])
                WITH ORDINALITY AS e (id, partner, type, created_at, body, ordinal)
            ORDER BY e.ordinal
            ON CONFLICT (id) DO NOTHING RETURNING 1
            """,
            [
                Self.array(ids), Self.array(partners), Self.array(types), Self.array(created), Self.array(bodies),
                String(now.seconds),
            ]
        )
        return rows.count
    }

    /// A PostgreSQL array literal of `values`, each quoted.
    static func array(_ values: [String]) -> String {
        "{"
            + values.map { value in
                "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                    + "\""
            }.joined(separator: ",") + "}"
    }

    @discardableResult
    package func enqueue(_ events: [OutboxEvent], at now: Timestamp) throws -> Int {
        try connection.execute("BEGIN")
        do {
            let added = try insert(events, at: now)
            try connection.execute("COMMIT")
            return added
        } catch {
            _ = try? connection.execute("ROLLBACK")
            throw error
        }
    }

    static let entryColumns =
        "id, partner, type, created_at, body, status, attempts, next_attempt_at, last_attempt_at, last_error, delivered_at"

    private func entries(_ sql: String, _ parameters: [String?]) throws -> [OutboxEntry] {
        let rows = try connection.query(sql, parameters)
        var entries: [OutboxEntry] = []
        for row in 0..<rows.count {
            guard let type = EventType(rawValue: rows.string(row, 2)),
                let status = OutboxStatus(rawValue: rows.string(row, 5))
            else {
                throw CoalitionError(
                    .storeFailure,
                    "webhook event \(rows.string(row, 0)) has an unknown type or status"
                )
            }
            let event = OutboxEvent(
                id: rows.string(row, 0),
                partner: try PartnerID(rows.string(row, 1)),
                type: type,
                createdAt: Timestamp(seconds: rows.int64(row, 3)),
                body: rows.withBytes(row, 4) { Array($0) }
            )
            entries.append(
                OutboxEntry(
                    event: event,
                    status: status,
                    attempts: Int(rows.int64(row, 6)),
                    nextAttemptAt: Timestamp(seconds: rows.int64(row, 7)),
                    lastAttemptAt: rows.optionalInt64(row, 8).map { Timestamp(seconds: $0) },
                    lastError: rows.optionalString(row, 9),
                    deliveredAt: rows.optionalInt64(row, 10).map { Timestamp(seconds: $0) }
                )
            )
        }
        return entries
    }

    package func dueEvents(at now: Timestamp, limit: Int) throws -> [OutboxEntry] {
        try entries(
            """
            SELECT \(Self.entryColumns) FROM webhook_events
            WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, ordinal LIMIT $2
            """,
            [String(now.seconds), String(limit)]
        )
    }

    package func events(status: OutboxStatus?, limit: Int) throws -> [OutboxEntry] {
        try entries(
            """
            SELECT \(Self.entryColumns) FROM webhook_events
            WHERE $1::text IS NULL OR status = $1 ORDER BY ordinal LIMIT $2
            """,
            [status?.rawValue, String(limit)]
        )
    }

    package func event(id: String) throws -> OutboxEntry? {
        try entries("SELECT \(Self.entryColumns) FROM webhook_events WHERE id = $1", [id]).first
    }

    package func failingDeliveries(limit: Int) throws -> [OutboxEntry] {
        try entries(
            """
            SELECT \(Self.entryColumns) FROM webhook_events
            WHERE status = 'failed' OR (status = 'pending' AND attempts > 0)
            ORDER BY attempts DESC, ordinal LIMIT $1
            """,
            [String(limit)]
        )
    }

    package func recordAttempts(_ attempts: [DeliveryAttempt]) throws {
        guard !attempts.isEmpty else { return }
        try connection.execute("BEGIN")
        do {
            for attempt in attempts {
                switch attempt.outcome {
                case .delivered(let at):
                    _ = try connection.query(
                        """
                        UPDATE webhook_events SET status = 'delivered', attempts = attempts + 1, last_attempt_at = $1,
                            delivered_at = $1, last_error = NULL WHERE id = $2
                        """,
                        [String(at.seconds), attempt.eventID]
                    )
                case .failed(let at, let error, let retryAt):
                    _ = try connection.query(
                        """
                        UPDATE webhook_events SET status = CASE WHEN $3::bigint IS NULL THEN 'failed' ELSE 'pending' END,
                            attempts = attempts + 1, last_attempt_at = $1, last_error = $2,
                            next_attempt_at = coalesce($3::bigint, next_attempt_at) WHERE id = $4
                        """,
                        [String(at.seconds), error, retryAt.map { String($0.seconds) }, attempt.eventID]
                    )
                }
            }
            try connection.execute("COMMIT")
        } catch {
            _ = try? connection.execute("ROLLBACK")
            throw error
        }
    }

    package func redeliver(id: String, at now: Timestamp) throws -> Bool {
        let rows = try connection.query(
            "UPDATE webhook_events SET status = 'pending', next_attempt_at = $1 WHERE id = $2 RETURNING 1",
            [String(now.seconds), id]
        )
        return rows.count > 0
    }

    package func outboxCounts() throws -> OutboxCounts {
        let rows = try connection.query("SELECT status, count(*) FROM webhook_events GROUP BY status")
        var counts = OutboxCounts()
        for row in 0..<rows.count {
            switch rows.string(row, 0) {
            case "pending": counts.pending = rows.int64(row, 1)
            case "delivered": counts.delivered = rows.int64(row, 1)
            case "failed": counts.failed = rows.int64(row, 1)
            default: break
            }
        }
        return counts
    }
}
