import CoalitionKit

extension WebhookDelivery {
    /// The outbox's events by status, read on the writer thread: what an operator's
    /// dashboard shows as the webhook backlog (pending) and the events given up on (failed).
    package func outboxCounts() throws -> OutboxCounts {
        try writer.perform { ledger in try Self.outbox(ledger).outboxCounts() }
    }

    /// The failing deliveries (`EventOutbox.failingDeliveries`), for an operator's dashboard.
    package func failingDeliveries(limit: Int = 50) throws -> [OutboxEntry] {
        try writer.perform { ledger in try Self.outbox(ledger).failingDeliveries(limit: limit) }
    }

    /// The webhook families of `/metrics` (docs/operations.md).
    func write(into text: inout MetricsText) {
        if let counts = try? outboxCounts() {
            let name = "coalition_webhook_events"
            text.family(
                name,
                type: "gauge",
                help: "Events in the outbox to partners, by status (pending is the backlog)."
            )
            text.sample(name, [("status", "pending")], counts.pending)
            text.sample(name, [("status", "delivered")], counts.delivered)
            text.sample(name, [("status", "failed")], counts.failed)
        }
        let counters = statistics
        text.family(
            "coalition_webhook_deliveries_total",
            type: "counter",
            help: "Events this server delivered (receiver answered 2xx)."
        )
        text.sample("coalition_webhook_deliveries_total", counters.delivered)
        text.family(
            "coalition_webhook_failed_attempts_total",
            type: "counter",
            help: "Delivery attempts that failed (refused or unreachable)."
        )
        text.sample("coalition_webhook_failed_attempts_total", counters.failedAttempts)
        text.family(
            "coalition_webhook_given_up_total",
            type: "counter",
            help: "Events whose retry schedule was spent (now failed)."
        )
        text.sample("coalition_webhook_given_up_total", counters.givenUp)
    }
}
