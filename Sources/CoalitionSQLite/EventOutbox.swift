import CoalitionKit

/// The outbox of events to partners in SQLite (`webhook_events`): a batch's events go in
/// with the batch (`finish`); everything else here runs in a short transaction of its own,
/// between batches.
extension SQLiteStore: EventOutbox {
    /// Inserts `events` into the open transaction; an id already there is left as it is.
    /// Returns how many were new.
    @discardableResult
    func insert(_ events: [OutboxEvent], at now: Timestamp) throws -> Int {
        guard !events.isEmpty else { return 0 }
        let s = try database.statement(
            """
            INSERT INTO webhook_events (id, partner, type, created_at, body, next_attempt_at)
            VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING
            """
        )
        var added = 0
        for event in events {
            s.reset()
            s.bind(1, event.id)
            s.bind(2, event.partner.rawValue)
            s.bind(3, event.type.rawValue)
            s.bind(4, event.createdAt.seconds)
            s.bind(5, event.body)
            s.bind(6, now.seconds)
            try s.run()
            added += Int(try database.integer("SELECT changes()") ?? 0)
        }
        return added
    }

    @discardableResult
    package func enqueue(_ events: [OutboxEvent], at now: Timestamp) throws -> Int {
        try settled()
        return try database.transaction { try insert(events, at: now) }
    }

    static let entryColumns =
        "id, partner, type, created_at, body, status, attempts, next_attempt_at, last_attempt_at, last_error, delivered_at"

    /// Waits for the batch writer, and lets the next read see what other connections (a
    /// `coalition events` beside the server) committed.
    private func settled() throws {
        try writer.drain()
        database.resetStatements()
    }

    private func entries(_ sql: String, _ bind: (Statement) -> Void) throws -> [OutboxEntry] {
        try settled()
        let s = try database.statement(sql)
        defer { s.reset() }
        bind(s)
        var entries: [OutboxEntry] = []
        while try s.step() {
            guard let type = EventType(rawValue: s.string(2)), let status = OutboxStatus(rawValue: s.string(5)) else {
                throw CoalitionError(
                    .storeFailure,
                    "webhook event \(s.string(0)) has an unknown type or status",
                    at: Place(file: path)
                )
            }
            let event = OutboxEvent(
                id: s.string(0),
                partner: try PartnerID(s.string(1)),
                type: type,
                createdAt: Timestamp(seconds: s.int64(3)),
                body: s.bytes(4)
            )
            entries.append(
                OutboxEntry(
                    event: event,
                    status: status,
                    attempts: Int(s.int64(6)),
                    nextAttemptAt: Timestamp(seconds: s.int64(7)),
                    lastAttemptAt: s.optionalInt64(8).map { Timestamp(seconds: $0) },
                    lastError: s.optionalString(9),
                    deliveredAt: s.optionalInt64(10).map { Timestamp(seconds: $0) }
                )
            )
        }
        return entries
    }

    package func dueEvents(at now: Timestamp, limit: Int) throws -> [OutboxEntry] {
        try entries(
            """
            SELECT \(Self.entryColumns) FROM webhook_events
            WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, rowid LIMIT ?
            """
        ) {
            $0.bind(1, now.seconds)
            $0.bind(2, Int64(limit))
        }
    }

    package func events(status: OutboxStatus?, limit: Int) throws -> [OutboxEntry] {
        try entries(
            "SELECT \(Self.entryColumns) FROM webhook_events WHERE ?1 IS NULL OR status = ?1 ORDER BY rowid LIMIT ?2"
        ) {
            $0.bind(1, status?.rawValue)
            $0.bind(2, Int64(limit))
        }
    }

    package func event(id: String) throws -> OutboxEntry? {
        try entries("SELECT \(Self.entryColumns) FROM webhook_events WHERE id = ?") { $0.bind(1, id) }.first
    }

    package func failingDeliveries(limit: Int) throws -> [OutboxEntry] {
        try entries(
            """
            SELECT \(Self.entryColumns) FROM webhook_events
            WHERE status = 'failed' OR (status = 'pending' AND attempts > 0)
            ORDER BY attempts DESC, rowid LIMIT ?
            """
        ) { $0.bind(1, Int64(limit)) }
    }

    package func recordAttempts(_ attempts: [DeliveryAttempt]) throws {
        guard !attempts.isEmpty else { return }
        try settled()
        try database.transaction {
            for attempt in attempts {
                let s: Statement
                switch attempt.outcome {
                case .delivered(let at):
                    s = try database.statement(
                        """
                        UPDATE webhook_events SET status = 'delivered', attempts = attempts + 1, last_attempt_at = ?1,
                            delivered_at = ?1, last_error = NULL WHERE id = ?2
                        """
                    )
                    s.bind(1, at.seconds)
                    s.bind(2, attempt.eventID)
                case .failed(let at, let error, let retryAt):
                    s = try database.statement(
                        """
                        UPDATE webhook_events SET status = CASE WHEN ?3 IS NULL THEN 'failed' ELSE 'pending' END,
                            attempts = attempts + 1, last_attempt_at = ?1, last_error = ?2,
                            next_attempt_at = coalesce(?3, next_attempt_at) WHERE id = ?4
                        """
                    )
                    s.bind(1, at.seconds)
                    s.bind(2, error)
                    s.bind(3, retryAt?.seconds)
                    s.bind(4, attempt.eventID)
                }
                try s.run()
            }
        }
    }

    package func redeliver(id: String, at now: Timestamp) throws -> Bool {
        try settled()
        return try database.transaction {
            let s = try database.statement(
                "UPDATE webhook_events SET status = 'pending', next_attempt_at = ? WHERE id = ?"
            )
            s.bind(1, now.seconds)
            s.bind(2, id)
            try s.run()
            return (try database.integer("SELECT changes()") ?? 0) > 0
        }
    }

    package func outboxCounts() throws -> OutboxCounts {
        try settled()
        let s = try database.statement("SELECT status, count(*) FROM webhook_events GROUP BY status")
        defer { s.reset() }
        var counts = OutboxCounts()
        while try s.step() {
            switch s.string(0) {
            case "pending": counts.pending = s.int64(1)
            case "delivered": counts.delivered = s.int64(1)
            case "failed": counts.failed = s.int64(1)
            default: break
            }
        }
        return counts
    }
}
