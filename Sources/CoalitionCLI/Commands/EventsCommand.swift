import CoalitionKit
import Foundation

/// What `coalition events` shows of one event.
struct EventListing: Encodable {
    let id: String
    let partner: String
    let type: String
    let createdAt: String
    let status: String
    let attempts: Int
    let nextAttemptAt: String?
    let lastAttemptAt: String?
    let lastError: String?
    let deliveredAt: String?

    init(_ entry: OutboxEntry) {
        id = entry.event.id
        partner = entry.event.partner.rawValue
        type = entry.event.type.rawValue
        createdAt = entry.event.createdAt.description
        status = entry.status.rawValue
        attempts = entry.attempts
        nextAttemptAt = entry.status == .pending ? entry.nextAttemptAt.description : nil
        lastAttemptAt = entry.lastAttemptAt?.description
        lastError = entry.lastError
        deliveredAt = entry.deliveredAt?.description
    }
}

/// The outbox of the data directory's store, opened without the writer lock: the outbox is
/// not part of the state a writer holds in memory, so its rows may be read, and a
/// redelivery asked for, while `coalition serve` runs (each is one short transaction of
/// its own; SQLite waits for the server's, PostgreSQL does not need to).
func openOutbox(_ data: DataDirectory) throws -> any EventOutbox {
    guard data.hasLedger else {
        throw CoalitionError(
            .noLedger,
            "no Coalition ledger in this data directory: run `coalition init` (or `coalition demo`) first",
            at: Place(file: data.root)
        )
    }
    guard let outbox = try data.openStore() as? any EventOutbox else {
        throw CoalitionError(.storeFailure, "this ledger's store keeps no outbox of events")
    }
    return outbox
}

struct EventsListCommand: Command {
    static let path = ["events", "list"]
    static let summary = "events to partners (webhooks): pending, delivered, failed"
    static let synopsis = "[--status pending|delivered|failed|failing] [--limit N]"
    static let options: [OptionSpec] = [
        .value("status", "STATUS", "only events in STATUS; failing: failed, and pending after a failed attempt"),
        .value("limit", "N", "at most N events (default 100)"),
    ]
    static let discussion = """
        Lists the outbox of events to partners, oldest first: each event's id (what a
        receiver deduplicates by), partner, type, status, attempts, the next attempt of a
        pending event and the last error. Works while `coalition serve` runs: the outbox is
        read in a transaction of its own, without the writer lock. See docs/api.md, Webhooks.
        """

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let limit =
            try context.arguments.value("limit").map { text in
                guard let number = Int(text), number > 0 else {
                    throw CoalitionError(.usage, "--limit takes a positive whole number, not \(text)")
                }
                return number
            } ?? 100
        let statusText = context.arguments.value("status")
        let outbox = try openOutbox(context.data)
        let entries: [OutboxEntry]
        switch statusText {
        case nil: entries = try outbox.events(status: nil, limit: limit)
        case "failing": entries = try outbox.failingDeliveries(limit: limit)
        case let text?:
            guard let status = OutboxStatus(rawValue: text) else {
                throw CoalitionError(.usage, "--status takes pending, delivered, failed or failing, not \(text)")
            }
            entries = try outbox.events(status: status, limit: limit)
        }
        let counts = try outbox.outboxCounts()
        if context.json {
            struct Listing: Encodable {
                let pending: Int64
                let delivered: Int64
                let failed: Int64
                let events: [EventListing]
            }
            Output.json(
                Listing(
                    pending: counts.pending,
                    delivered: counts.delivered,
                    failed: counts.failed,
                    events: entries.map(EventListing.init)
                )
            )
            return .success
        }
        Output.line("Events: \(counts.pending) pending, \(counts.delivered) delivered, \(counts.failed) failed")
        guard !entries.isEmpty else { return .success }
        var table = TextTable(["id", "partner", "type", "status", "attempts", "next/delivered", "last error"])
        for entry in entries {
            let when =
                entry.status == .pending
                ? entry.nextAttemptAt.description : (entry.deliveredAt ?? entry.lastAttemptAt)?.description ?? ""
            table.add([
                entry.event.id, entry.event.partner.rawValue, entry.event.type.rawValue, entry.status.rawValue,
                String(entry.attempts), when, entry.lastError ?? "",
            ])
        }
        Output.line(table.render())
        return .success
    }
}

struct EventsRedeliverCommand: Command {
    static let path = ["events", "redeliver"]
    static let summary = "deliver one event again, whatever its status"
    static let synopsis = "EVENT-ID"
    static let discussion = """
        Makes the event pending again, due now: the server's webhook worker sends it at its
        next pass (within a second), with the same id and body, so a receiver that had it
        already recognises it. Works while `coalition serve` runs (the outbox is written in a
        transaction of its own, without the writer lock); without a server it goes when one
        starts. UNKNOWN_EVENT when the outbox holds no such id.
        """

    static func run(_ context: Context) throws -> ExitCode {
        let id = try positional(context, count: 1)[0]
        let outbox = try openOutbox(context.data)
        guard try outbox.redeliver(id: id, at: Clock.now) else {
            throw CoalitionError(.unknownEvent, "the outbox holds no event \(id): see `coalition events list`")
        }
        if context.json {
            Output.json(EventRedelivery(id: id, status: OutboxStatus.pending.rawValue))
        } else {
            Output.line("Event \(id) is pending again: the server delivers it at its next pass.")
        }
        return .success
    }
}

struct EventsScanCommand: Command {
    static let path = ["events", "scan"]
    static let summary = "put key-rotation and expiring-points events in the outbox now"
    static let synopsis = ""
    static let options: [OptionSpec] = [waitOption]
    static let discussion = """
        Writes, in one transaction of their own, a key.rotation_scheduled event for each key of
        a partner taking events that stops being valid later, and a points.expiring event for
        each issuer whose members' points expire within its horizon (one a day). Ids come from
        the cause, so a scan repeated the same day adds nothing. `coalition serve` scans when
        it starts and once a day; this is for a network run without a server. Takes the
        writer lock (LEDGER_BUSY while a server runs: it scans itself).
        """

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let ledger = try context.openForWriting()
        guard let outbox = ledger.store as? any EventOutbox else {
            throw CoalitionError(.storeFailure, "this ledger's store keeps no outbox of events")
        }
        let now = Clock.now
        let events =
            PartnerEvents.keyRotations(network: ledger.network, at: now)
            + PartnerEvents.pointsExpiring(ledger, at: now)
        let added = try outbox.enqueue(events, at: now)
        if context.json {
            Output.json(EventScan(scanned: events.count, added: added))
        } else {
            Output.line("Scanned: \(events.count) events, \(added) new in the outbox.")
        }
        return .success
    }
}

/// What `events redeliver --json` prints: the event, pending again.
struct EventRedelivery: Encodable {
    let id: String
    let status: String
}

/// What `events scan --json` prints: the events found and how many were new to the outbox.
struct EventScan: Encodable {
    let scanned: Int
    let added: Int
}
