import CoalitionKit
import Foundation

/// Delivers the outbox's events to partners' webhooks, at least once: a worker thread of
/// `coalition serve` takes the events due, sends each signed (Standard Webhooks:
/// `webhook-id`, `webhook-timestamp`, `webhook-signature`), and records every attempt in
/// the store, all of a pass in one transaction.
///
/// An event is delivered when its receiver answers 2xx. Any other answer, or no answer, is
/// a failed attempt: the event is tried again after the `RetrySchedule`'s delay, and is
/// `failed` once the schedule is spent (`coalition events redeliver` starts it again). A
/// crash between a delivery and its record makes the event go again after the restart: a
/// receiver deduplicates by `webhook-id`. Nothing is lost: every event stays in the outbox
/// until a receiver took it.
///
/// The store is touched only on the ledger writer's thread (`LedgerWriter.perform`),
/// between batches; deliveries run on this worker's own thread, one receiver connection
/// (kept alive) per partner, each verifying the receiver's certificate and host name.
package final class WebhookDelivery: @unchecked Sendable {
    // Safe to share: `clients` and `lastScanDay` are used only under `passLock` (in
    // `deliverDue` and `scan`); `receivers` is immutable; the counters and the thread's state are read and written under `condition`.
    struct Receiver {
        let endpoint: WebhookEndpoint
        let key: [UInt8]
    }

    let writer: LedgerWriter
    private let receivers: [PartnerID: Receiver]
    private let schedule: RetrySchedule
    private let now: @Sendable () -> Timestamp
    private let timeout: Duration
    private var clients: [PartnerID: HTTPSClient] = [:]
    private var lastScanDay: Int64?
    private let passLock = NSLock()
    private let condition = NSCondition()
    private var isStopping = false
    private var isRunning = false
    private var wakeRequested = false
    private var counters = WebhookCounters()

    /// How many events a pass takes at most.
    package static let passSize = 512

    /// A worker for the partners of `writer`'s network that name a webhook: reads each
    /// one's secret now (a missing or malformed secret is an error here, not at the first
    /// delivery). `now` is the clock attempts are dated and scheduled by.
    package init(
        writer: LedgerWriter,
        schedule: RetrySchedule = .standard,
        timeout: Duration = .seconds(10),
        now: @escaping @Sendable () -> Timestamp
    ) throws {
        self.writer = writer
        self.schedule = schedule
        self.timeout = timeout
        self.now = now
        var receivers: [PartnerID: Receiver] = [:]
        for partner in writer.network.sortedPartners {
            guard let endpoint = partner.webhook else { continue }
            guard let bytes = FileManager.default.contents(atPath: endpoint.secretFile) else {
                throw CoalitionError(
                    .badConfig,
                    "cannot read the webhook secret of \(partner.id)",
                    at: Place(file: endpoint.secretFile)
                )
            }
            let key: [UInt8]
            do { key = try WebhookSignature.key(fromSecret: String(decoding: bytes, as: UTF8.self)) } catch let error
                as CoalitionError
            {
                throw CoalitionError(error.code, error.message, at: Place(file: endpoint.secretFile))
            }
            receivers[partner.id] = Receiver(endpoint: endpoint, key: key)
        }
        self.receivers = receivers
    }

    /// Whether any partner takes events.
    package var hasReceivers: Bool { !receivers.isEmpty }

    /// What this worker did since it started.
    package var statistics: WebhookCounters {
        condition.lock()
        defer { condition.unlock() }
        return counters
    }

    /// One pass: takes up to `passSize` events due now, delivers them, records the
    /// attempts. Returns what it did. Store failures are thrown (nothing was recorded: the
    /// events go again).
    @discardableResult
    package func deliverDue() throws -> WebhookPass {
        passLock.lock()
        defer { passLock.unlock() }
        let at = now()
        let due = try writer.perform { ledger in
            try Self.outbox(ledger).dueEvents(at: at, limit: Self.passSize)
        }
        var pass = WebhookPass()
        var attempts: [DeliveryAttempt] = []
        var unreachable: Set<PartnerID> = []
        for entry in due {
            let partner = entry.event.partner
            // One failed connection per partner per pass: the rest of its events wait for
            // the next pass rather than each paying a time-out now.
            if unreachable.contains(partner) { continue }
            let attemptAt = now()
            let outcome: DeliveryOutcome
            switch send(entry.event, at: attemptAt) {
            case .success:
                outcome = .delivered(at: attemptAt)
                pass.delivered += 1
            case .failure(let error):
                if error.code == .webhookUnreachable { unreachable.insert(partner) }
                let retry = schedule.delay(afterFailures: entry.attempts + 1, eventID: entry.event.id)
                outcome = .failed(
                    at: attemptAt,
                    error: "\(error.code.rawValue): \(error.message)",
                    retryAt: retry.map { attemptAt.adding(seconds: $0) }
                )
                pass.failedAttempts += 1
                if retry == nil { pass.givenUp += 1 }
            }
            attempts.append(DeliveryAttempt(eventID: entry.event.id, outcome: outcome))
        }
        let recorded = attempts
        try writer.perform { ledger in try Self.outbox(ledger).recordAttempts(recorded) }
        condition.lock()
        counters.delivered += Int64(pass.delivered)
        counters.failedAttempts += Int64(pass.failedAttempts)
        counters.givenUp += Int64(pass.givenUp)
        condition.unlock()
        pass.remaining = due.count == Self.passSize
        return pass
    }

    /// Puts the day's key-rotation and expiring-points events in the outbox, in one
    /// transaction of their own, once a (UTC) day: ids come from the cause and the day, so a
    /// scan repeated adds nothing. Returns how many events were new.
    @discardableResult
    package func scan() throws -> Int {
        passLock.lock()
        defer { passLock.unlock() }
        let at = now()
        let day = at.startOfDay.seconds
        guard lastScanDay != day else { return 0 }
        let added = try writer.perform { ledger in
            let events =
                PartnerEvents.keyRotations(network: ledger.network, at: at)
                + PartnerEvents.pointsExpiring(ledger, at: at)
            return try Self.outbox(ledger).enqueue(events, at: at)
        }
        lastScanDay = day
        return added
    }

    static func outbox(_ ledger: Ledger) throws -> any EventOutbox {
        guard let outbox = ledger.store as? any EventOutbox else {
            throw CoalitionError(.storeFailure, "this ledger's store keeps no outbox of events")
        }
        return outbox
    }

    /// Sends `event` once; nil error when the receiver answered 2xx.
    func send(_ event: OutboxEvent, at attemptAt: Timestamp) -> Result<Void, CoalitionError> {
        guard let receiver = receivers[event.partner] else {
            return .failure(
                CoalitionError(.webhookUnreachable, "partner \(event.partner) names no webhook in its configuration")
            )
        }
        do {
            let client = try self.client(event.partner, receiver.endpoint)
            let timestamp = attemptAt.seconds
            let signature = try WebhookSignature.signature(
                id: event.id,
                timestamp: timestamp,
                body: event.body,
                key: receiver.key
            )
            let response = try client.send(
                method: "POST",
                target: receiver.endpoint.path,
                fields: [
                    ("Content-Type", "application/json"),
                    ("User-Agent", "coalition-webhooks"),
                    ("webhook-id", event.id),
                    ("webhook-timestamp", String(timestamp)),
                    ("webhook-signature", signature),
                ],
                body: .bytes(event.body)
            )
            guard (200...299).contains(response.status) else {
                return .failure(CoalitionError(.webhookRefused, "the receiver answered HTTP \(response.status)"))
            }
            return .success(())
        } catch let error as CoalitionError {
            clients[event.partner]?.close()
            clients[event.partner] = nil
            return .failure(CoalitionError(.webhookUnreachable, error.message))
        } catch {
            clients[event.partner] = nil
            return .failure(CoalitionError(.webhookUnreachable, "\(error)"))
        }
    }

    private func client(_ partner: PartnerID, _ endpoint: WebhookEndpoint) throws -> HTTPSClient {
        if let client = clients[partner] { return client }
        let client = try HTTPSClient(
            host: endpoint.host,
            port: endpoint.port,
            trusting: endpoint.trustFile,
            timeout: timeout
        )
        clients[partner] = client
        return client
    }

    // MARK: The worker thread

    /// Starts the worker thread: a pass, then (when nothing more is due) a wait of
    /// `interval` or until `wake()`. Does nothing when no partner takes events.
    package func start(interval: Duration = .seconds(1), log: @escaping @Sendable (String) -> Void = { _ in }) {
        guard hasReceivers else { return }
        condition.lock()
        isRunning = true
        condition.unlock()
        let thread = Thread { [self] in run(interval: interval, log: log) }
        thread.name = "coalition-webhooks"
        thread.start()
    }

    /// Asks for a pass now (new events were committed).
    package func wake() {
        condition.lock()
        wakeRequested = true
        condition.broadcast()
        condition.unlock()
    }

    /// Stops the worker thread after its pass in progress; returns when it has stopped.
    /// Must be called before the ledger writer shuts down.
    package func stop() {
        condition.lock()
        isStopping = true
        condition.broadcast()
        while isRunning { condition.wait() }
        condition.unlock()
    }

    private func run(interval: Duration, log: @Sendable (String) -> Void) {
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        while true {
            var more = false
            do {
                try scan()
                more = try deliverDue().remaining
            } catch let error as CoalitionError {
                // A writer shutting down or busy: the events stay and the next pass goes on.
                log("webhooks: \(error.code.rawValue): \(error.message)")
            } catch {
                log("webhooks: \(error)")
            }
            condition.lock()
            if !more && !isStopping && !wakeRequested {
                _ = condition.wait(until: Date(timeIntervalSinceNow: seconds))
            }
            wakeRequested = false
            if isStopping {
                isRunning = false
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.unlock()
        }
    }
}

/// What one pass of the worker did.
package struct WebhookPass: Sendable, Equatable {
    package var delivered = 0
    package var failedAttempts = 0
    /// Events whose last attempt of the schedule failed in this pass.
    package var givenUp = 0
    /// Whether more events may be due (the pass was full).
    package var remaining = false

    package init() {}
}

/// What a worker did since it started, for `/metrics`.
package struct WebhookCounters: Sendable, Equatable {
    package var delivered: Int64 = 0
    package var failedAttempts: Int64 = 0
    package var givenUp: Int64 = 0
}
