import CoalitionKit
import Foundation

/// One JSON line per ledger event the server causes (`docs/operations.md`): a batch applied
/// from a file, a single record applied, a member's transfer. Written to the request log,
/// beside the line of the request that caused it and with its request id. Never a key, a
/// token, a password, a signature or a full member number (masked to its last four digits).
package struct LedgerEvent: Encodable, Sendable, Equatable {
    package var time = ""
    package var requestID = ""
    /// `batch_applied`, `record_applied`, `record_rejected`, `transfer`.
    package let event: String
    package var partner: String?
    package var member: String?
    package var batch: Int64?
    package var records: Int?
    package var accepted: Int?
    package var rejected: Int?
    package var points: Int64?
    package var posting: Int64?
    package var code: String?

    package init(event: String) { self.event = event }

    enum CodingKeys: String, CodingKey {
        case time, event, partner, member, batch, records, accepted, rejected, points, posting, code
        case requestID = "request_id"
    }
}

/// Where the ledger events of the request being answered go: set by `ObservedResponder`
/// around the responder for the request's duration (a task-local value, so the request
/// thread carries it and no responder needs another parameter). Without it (tests that call
/// a responder directly, the CLI) events are dropped.
package struct LedgerEventSink: Sendable {
    @TaskLocal static var current: LedgerEventSink?

    let requestID: String
    let log: RequestLog?
    let metrics: RequestMetrics
    let now: @Sendable () -> Timestamp

    /// Logs `event` for the current request and counts what it applied.
    static func record(_ event: LedgerEvent) {
        guard let sink = current else { return }
        var line = event
        line.time = sink.now().description
        line.requestID = sink.requestID
        line.member = event.member.map(MemberMask.masked)
        sink.log?.write(event: line)
        switch event.event {
        case "batch_applied":
            sink.metrics.recordApplied(
                source: "file",
                accepted: Int64(event.accepted ?? 0),
                rejected: Int64(event.rejected ?? 0),
                batchRecords: Int64(event.records ?? 0)
            )
        case "record_applied": sink.metrics.recordApplied(source: "api", accepted: 1, rejected: 0, batchRecords: nil)
        case "record_rejected": sink.metrics.recordApplied(source: "api", accepted: 0, rejected: 1, batchRecords: nil)
        default: break
        }
    }
}
