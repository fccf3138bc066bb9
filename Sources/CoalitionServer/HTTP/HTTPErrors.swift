import CoalitionKit
import Foundation

/// The reason codes of the HTTP transport: faults in how a request was framed or sent, found
/// before a responder sees it. Each answers with the status `httpStatus` gives and closes the
/// connection. Documented in `docs/reason-codes.md`.
extension ReasonCode {
    package static let badRequestLine: ReasonCode = "BAD_REQUEST_LINE"
    package static let requestLineTooLong: ReasonCode = "REQUEST_LINE_TOO_LONG"
    package static let badRequestTarget: ReasonCode = "BAD_REQUEST_TARGET"
    package static let httpVersionNotSupported: ReasonCode = "HTTP_VERSION_NOT_SUPPORTED"
    package static let headersTooLarge: ReasonCode = "HEADERS_TOO_LARGE"
    package static let tooManyHeaders: ReasonCode = "TOO_MANY_HEADERS"
    package static let badHeaderName: ReasonCode = "BAD_HEADER_NAME"
    package static let badHeaderValue: ReasonCode = "BAD_HEADER_VALUE"
    package static let obsoleteLineFolding: ReasonCode = "OBSOLETE_LINE_FOLDING"
    package static let bareCR: ReasonCode = "BARE_CR"
    package static let bareLF: ReasonCode = "BARE_LF"
    package static let badHost: ReasonCode = "BAD_HOST"
    package static let badContentLength: ReasonCode = "BAD_CONTENT_LENGTH"
    package static let conflictingContentLength: ReasonCode = "CONFLICTING_CONTENT_LENGTH"
    package static let lengthAndTransferEncoding: ReasonCode = "CONTENT_LENGTH_WITH_TRANSFER_ENCODING"
    package static let badTransferEncoding: ReasonCode = "BAD_TRANSFER_ENCODING"
    package static let unsupportedTransferEncoding: ReasonCode = "UNSUPPORTED_TRANSFER_ENCODING"
    package static let lengthRequired: ReasonCode = "LENGTH_REQUIRED"
    package static let badChunk: ReasonCode = "BAD_CHUNK"
    package static let bodyTooLarge: ReasonCode = "BODY_TOO_LARGE"
    package static let unsupportedExpectation: ReasonCode = "UNSUPPORTED_EXPECTATION"
    package static let requestTimeout: ReasonCode = "REQUEST_TIMEOUT"
    package static let bodyTooSlow: ReasonCode = "BODY_TOO_SLOW"
    package static let serverBusy: ReasonCode = "SERVER_BUSY"
    package static let notFound: ReasonCode = "NOT_FOUND"
    package static let methodNotAllowed: ReasonCode = "METHOD_NOT_ALLOWED"
}

extension ReasonCode {
    /// The status a transport fault is answered with (RFC 9112 and RFC 9110); 400 for any
    /// code the transport does not know, 500 for `INTERNAL`, `IO_ERROR` and `CRYPTO_FAILURE`.
    package var httpStatus: Int {
        switch self {
        case .requestLineTooLong: 414
        case .headersTooLarge, .tooManyHeaders: 431
        case .lengthRequired: 411
        case .bodyTooLarge: 413
        case .unsupportedTransferEncoding: 501
        case .httpVersionNotSupported: 505
        case .unsupportedExpectation: 417
        case .requestTimeout, .bodyTooSlow: 408
        case .serverBusy: 503
        case .notFound: 404
        case .methodNotAllowed: 405
        case .internalError, .io, .crypto, .storeFailure: 500
        default: 400
        }
    }
}

/// The JSON body of every error answer: `{"code": "...", "message": "..."}`.
package struct HTTPErrorBody: Codable, Sendable, Equatable {
    package var code: String
    package var message: String

    package init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}

extension HTTPResponse {
    /// An error answer: the code's status (or `status`), and the code and message as JSON.
    package static func error(_ error: CoalitionError, status: Int? = nil) -> HTTPResponse {
        json(status: status ?? error.code.httpStatus, HTTPErrorBody(code: error.code.rawValue, message: error.message))
    }

    /// `value` encoded as JSON with sorted keys, `Content-Type: application/json`.
    package static func json(status: Int, _ value: some Encodable) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a value of plain fields cannot fail; an empty object keeps the answer JSON.
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return HTTPResponse(
            status: status,
            headers: HTTPHeaders([("Content-Type", "application/json")]),
            body: .bytes(Array(data))
        )
    }
}
