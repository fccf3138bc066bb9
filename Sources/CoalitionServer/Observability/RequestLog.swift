import CoalitionKit
import Foundation

/// Where the server writes one JSON line per request: standard error, or a file the
/// operator names (`serve --log FILE`, appended to, created owner-only). Lines from
/// several I/O threads never interleave.
///
/// A line holds what an operator needs to follow a request and nothing secret: the time,
/// the request id (also sent back as `X-Request-Id`), the method, the route's template (not
/// the path as sent, so no number in a path is logged), the partner the request names,
/// the status and the duration. Never a header's value otherwise, a body, a key, a token, a
/// password or a signature.
package final class RequestLog: Sendable {
    package struct Line: Encodable, Sendable, Equatable {
        package let time: String
        package let requestID: String
        package let method: String
        package let route: String
        /// The partner named by a partner API request (`Coalition-Partner`), if a valid id.
        package let partner: String?
        package let status: Int
        package let durationMicroseconds: Int64

        enum CodingKeys: String, CodingKey {
            case time, method, route, partner, status
            case requestID = "request_id"
            case durationMicroseconds = "duration_us"
        }
    }

    private let handle: FileHandle
    private let lock = NSLock()

    /// A log to standard error.
    package init() { handle = FileHandle.standardError }

    /// A log appended to the file at `path`, created with mode 0600 if missing.
    package init(path: String) throws {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw CoalitionError(.io, "cannot open the log file", at: Place(file: path))
        }
        handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
    }

    /// Writes `line` as one line of JSON.
    package func write(_ line: Line) { writeJSON(line) }

    /// Writes a ledger event as one line of JSON, in the same stream as the requests.
    package func write(event: LedgerEvent) { writeJSON(event) }

    private func writeJSON(_ line: some Encodable) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var data = try? encoder.encode(line) else { return }
        data.append(0x0A)
        lock.lock()
        defer { lock.unlock() }
        try? handle.write(contentsOf: data)
    }
}
