import CoalitionKit
import Foundation

extension ReasonCode {
    // The partner API (docs/api.md): answers to a request, not faults of a file. NOT_FOUND,
    // METHOD_NOT_ALLOWED and INTERNAL are the transport's (HTTPErrors.swift): one fault, one code.
    package static let authenticationMissing: ReasonCode = "AUTH_MISSING"
    package static let authenticationStale: ReasonCode = "AUTH_STALE"
    package static let authenticationFailed: ReasonCode = "AUTH_FAILED"
    package static let forbidden: ReasonCode = "FORBIDDEN"
    package static let writerBusy: ReasonCode = "WRITER_BUSY"
    package static let shuttingDown: ReasonCode = "SHUTTING_DOWN"
    /// The server is the standby of a ledger another server writes (PostgreSQL).
    package static let standby: ReasonCode = "STANDBY"
}

/// The JSON body of every error answer: `{"code": "...", "message": "..."}`.
package struct APIErrorBody: Codable, Sendable, Equatable {
    package let code: String
    package let message: String
}

/// An answer that is an error: its status, its stable code and a message for people, and
/// any header it needs (`Allow`, `Retry-After`). Messages never carry a secret, a path on
/// the server, or anything that helps guess a key.
struct APIError: Error {
    let status: Int
    let code: ReasonCode
    let message: String
    var headers: [(name: String, value: String)] = []

    var response: HTTPResponse {
        var fields = HTTPHeaders([("Content-Type", "application/json")])
        for header in headers { fields.add(header.name, header.value) }
        return HTTPResponse(
            status: status,
            headers: fields,
            body: .bytes(JSON.encode(APIErrorBody(code: code.rawValue, message: message)))
        )
    }

    static let notFound = APIError(status: 404, code: .notFound, message: "no such resource")

    static func methodNotAllowed(allowed: [String]) -> APIError {
        APIError(
            status: 405,
            code: .methodNotAllowed,
            message: "this resource takes \(allowed.joined(separator: ", "))",
            headers: [("Allow", allowed.joined(separator: ", "))]
        )
    }

    /// The answer to a `CoalitionError` met while serving: the writer's own refusals keep
    /// their code, anything else is an internal error whose detail stays in the server.
    static func from(_ error: any Error) -> APIError {
        if let error = error as? APIError { return error }
        if let error = error as? CoalitionError {
            switch error.code {
            case .writerBusy:
                return APIError(
                    status: 503,
                    code: .writerBusy,
                    message: "the ledger's queue is full; retry after a second",
                    headers: [("Retry-After", "1")]
                )
            case .shuttingDown:
                return APIError(
                    status: 503,
                    code: .shuttingDown,
                    message: "the server is shutting down; retry later",
                    headers: [("Retry-After", "10")]
                )
            case .standby:
                return APIError(
                    status: 503,
                    code: .standby,
                    message:
                        "this server is the standby; the writer is another server, or none until this one takes over",
                    headers: [("Retry-After", "2")]
                )
            case .writerFenced:
                return APIError(
                    status: 503,
                    code: .writerFenced,
                    message: "this server lost the writer's lease to another server; nothing was applied",
                    headers: [("Retry-After", "2")]
                )
            default:
                break
            }
        }
        return APIError(status: 500, code: .internalError, message: "the server could not complete the request")
    }
}

/// JSON in the API's one style: keys sorted, no escaped slashes.
enum JSON {
    static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Our own Encodable types of strings and integers always encode.
        return Array((try? encoder.encode(value)) ?? Data("{}".utf8))
    }

    static func response<T: Encodable>(_ value: T, status: Int = 200) -> HTTPResponse {
        HTTPResponse(
            status: status,
            headers: HTTPHeaders([("Content-Type", "application/json")]),
            body: .bytes(encode(value))
        )
    }
}
