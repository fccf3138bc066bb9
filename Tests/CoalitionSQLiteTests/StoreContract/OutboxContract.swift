import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

/// The outbox of events to partners (`EventOutbox`), on every engine: a batch's events
/// commit with it or not at all, ids are kept once, and deliveries are booked as the worker
/// reports them, durably.
extension StoreContract {
    func event(_ n: Int, at time: Timestamp = Fixtures.info.receivedAt) -> OutboxEvent {
        OutboxEvent(
            id: "evt_test_\(n)",
            partner: n % 2 == 0 ? skyways : harbor,
            type: .acknowledgementReady,
            createdAt: time,
            data: ["n": .integer(Int64(n)), "text": .string("ünïcode \"quoted\" \\ {\(n)}")]
        )
    }

    func outbox(_ store: any TestableStore) throws -> any EventOutbox {
        try #require(store as? any EventOutbox)
    }

    func outboxCommitsWithItsBatch() throws {
        let place = try LedgerPlace(engine)
        defer { place.remove() }
        let (ledger, store) = try makeLedger(in: place, seed: 41)
        let events = try outbox(store)
        let batch = try crossBrandSetup(ledger)
        try ledger.batch(Fixtures.info) { session in
            _ = try session.apply([batch[0]])
            session.summary.events = [event(1), event(2)]
        }
        var all = try events.events(status: nil, limit: 100)
        #expect(all.map(\.event) == [event(1), event(2)])
        #expect(
            all.allSatisfy { $0.status == .pending && $0.attempts == 0 && $0.nextAttemptAt == Fixtures.info.receivedAt }
        )

        // A batch whose commit fails leaves no event behind.
        let dump = try store.contentDump()
        try store.executeForTesting(place.failingObligationsSQL.install)
        _ = expectError(.storeFailure) {
            try ledger.batch(Fixtures.info) { session in
                _ = try session.apply([batch[1]])
                session.summary.events = [event(3)]
            }
        }
        #expect(try store.contentDump() == dump)
        #expect(try events.event(id: "evt_test_3") == nil)
        try store.executeForTesting(place.failingObligationsSQL.remove)

        // The same cause again (the same ids) adds nothing and changes nothing.
        try events.recordAttempts([
            DeliveryAttempt(eventID: "evt_test_1", outcome: .delivered(at: Timestamp(seconds: 5)))
        ])
        try ledger.batch(Fixtures.info) { session in
            _ = try session.apply([batch[1]])
            session.summary.events = [event(1), event(3)]
        }
        all = try events.events(status: nil, limit: 100)
        #expect(all.map(\.event.id) == ["evt_test_1", "evt_test_2", "evt_test_3"])
        #expect(all[0].status == .delivered)

        // Durable: a reopened store holds the same outbox.
        let reopened = try outbox(try place.open())
        #expect(try reopened.events(status: nil, limit: 100) == all)
    }

    func outboxBooksDeliveries() throws {
        let place = try LedgerPlace(engine)
        defer { place.remove() }
        let store = try place.create()
        let events = try outbox(store)
        let t0 = Timestamp(seconds: 1_800_000_000)
        #expect(try events.enqueue((0..<5).map { event($0) }, at: t0) == 5)
        #expect(try events.enqueue([event(0), event(5)], at: t0) == 1)
        #expect(try events.dueEvents(at: t0, limit: 3).map(\.event.id) == ["evt_test_0", "evt_test_1", "evt_test_2"])
        #expect(try events.dueEvents(at: Timestamp(seconds: t0.seconds - 1), limit: 10).isEmpty)

        try events.recordAttempts([
            DeliveryAttempt(eventID: "evt_test_0", outcome: .delivered(at: t0.adding(seconds: 1))),
            DeliveryAttempt(
                eventID: "evt_test_1",
                outcome: .failed(
                    at: t0.adding(seconds: 1),
                    error: "WEBHOOK_REFUSED: HTTP 500",
                    retryAt: t0.adding(seconds: 100)
                )
            ),
            DeliveryAttempt(
                eventID: "evt_test_2",
                outcome: .failed(at: t0.adding(seconds: 1), error: "WEBHOOK_UNREACHABLE: refused", retryAt: nil)
            ),
        ])
        #expect(try events.dueEvents(at: t0, limit: 10).map(\.event.id) == ["evt_test_3", "evt_test_4", "evt_test_5"])
        #expect(
            try events.dueEvents(at: t0.adding(seconds: 100), limit: 10).map(\.event.id)
                == ["evt_test_3", "evt_test_4", "evt_test_5", "evt_test_1"]
        )
        #expect(try events.outboxCounts() == OutboxCounts(pending: 4, delivered: 1, failed: 1))
        let delivered = try #require(try events.event(id: "evt_test_0"))
        #expect(
            delivered.status == .delivered && delivered.deliveredAt == t0.adding(seconds: 1) && delivered.attempts == 1
        )
        let failing = try events.failingDeliveries(limit: 10)
        #expect(failing.map(\.event.id) == ["evt_test_1", "evt_test_2"])
        #expect(failing.map(\.lastError) == ["WEBHOOK_REFUSED: HTTP 500", "WEBHOOK_UNREACHABLE: refused"])
        #expect(try events.events(status: .failed, limit: 10).map(\.event.id) == ["evt_test_2"])

        #expect(try events.redeliver(id: "evt_test_2", at: t0.adding(seconds: 7)))
        #expect(try !events.redeliver(id: "evt_none", at: t0))
        let again = try #require(try events.event(id: "evt_test_2"))
        #expect(again.status == .pending && again.attempts == 1 && again.nextAttemptAt == t0.adding(seconds: 7))
        #expect(again.event == event(2))

        let reopened = try outbox(try place.open())
        #expect(try reopened.events(status: nil, limit: 100) == (try events.events(status: nil, limit: 100)))
    }

    /// Seeded random attempts and redeliveries against a model of what each event should be.
    func outboxFollowsAModel(seed: UInt64) throws {
        let place = try LedgerPlace(engine)
        defer { place.remove() }
        let events = try outbox(try place.create())
        var random = SeededGenerator(seed: seed)
        var model: [String: (status: OutboxStatus, attempts: Int, next: Int64)] = [:]
        var now: Int64 = 1_800_000_000
        for round in 0..<40 {
            now += Int64.random(in: 0...50, using: &random)
            let made = (0..<Int.random(in: 0...3, using: &random)).map { event(round * 10 + $0) }
            try events.enqueue(made, at: Timestamp(seconds: now))
            for made in made { model[made.id] = (.pending, 0, now) }
            let due = try events.dueEvents(at: Timestamp(seconds: now), limit: 5)
            let expectedDue = model.filter { $0.value.status == .pending && $0.value.next <= now }.count
            #expect(due.count == min(5, expectedDue))
            var attempts: [DeliveryAttempt] = []
            for entry in due {
                let at = Timestamp(seconds: now)
                switch Int.random(in: 0..<3, using: &random) {
                case 0:
                    attempts.append(DeliveryAttempt(eventID: entry.event.id, outcome: .delivered(at: at)))
                    model[entry.event.id] = (.delivered, entry.attempts + 1, entry.nextAttemptAt.seconds)
                case 1:
                    let retry = now + Int64.random(in: 1...100, using: &random)
                    attempts.append(
                        DeliveryAttempt(
                            eventID: entry.event.id,
                            outcome: .failed(at: at, error: "E", retryAt: Timestamp(seconds: retry))
                        )
                    )
                    model[entry.event.id] = (.pending, entry.attempts + 1, retry)
                default:
                    attempts.append(
                        DeliveryAttempt(eventID: entry.event.id, outcome: .failed(at: at, error: "E", retryAt: nil))
                    )
                    model[entry.event.id] = (.failed, entry.attempts + 1, entry.nextAttemptAt.seconds)
                }
            }
            try events.recordAttempts(attempts)
            if let id = model.keys.sorted().randomElement(using: &random), random.chance(20) {
                #expect(try events.redeliver(id: id, at: Timestamp(seconds: now)))
                model[id]!.status = .pending
                model[id]!.next = now
            }
        }
        let stored = try events.events(status: nil, limit: 1_000)
        #expect(stored.count == model.count)
        for entry in stored {
            let expected = try #require(model[entry.event.id])
            #expect(entry.status == expected.status && entry.attempts == expected.attempts)
            if entry.status == .pending { #expect(entry.nextAttemptAt.seconds == expected.next) }
        }
        let counts = try events.outboxCounts()
        #expect(counts.pending == Int64(model.values.filter { $0.status == .pending }.count))
        #expect(counts.delivered == Int64(model.values.filter { $0.status == .delivered }.count))
        #expect(counts.failed == Int64(model.values.filter { $0.status == .failed }.count))
    }
}
