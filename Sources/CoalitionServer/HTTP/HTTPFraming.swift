import CoalitionKit

/// How a request's body is delimited, decided from its head alone (RFC 9112 §6).
package enum HTTPBodyFraming: Sendable, Equatable {
    case none
    case length(Int64)
    case chunked
}

/// What the transport must know of a parsed head before it reads the body.
package struct HTTPRequestFrame: Sendable {
    package var framing: HTTPBodyFraming
    /// Whether the client asked to keep the connection open after this exchange.
    package var keepAlive: Bool
    /// Whether the client waits for `100 Continue` before it sends the body.
    package var expectsContinue: Bool

    /// Checks the head's framing fields strictly and decides. Refused, each with its code:
    /// both `Content-Length` and `Transfer-Encoding`; two different lengths; a length that is
    /// not digits; a transfer coding other than `chunked` (501), or `chunked` not last or
    /// twice; `Transfer-Encoding` in HTTP/1.0; HTTP/1.1 without exactly one `Host`; a
    /// `POST`, `PUT` or `PATCH` without a length (411); an expectation other than
    /// `100-continue` (417).
    package init(head: HTTPParsedHead) throws(CoalitionError) {
        let fields = head.headers.fields
        let hosts = fields.filter { HTTPHeaders.sameName($0.name, "host") }
        if head.minorVersion == 1, hosts.count != 1 {
            throw CoalitionError(.badHost, "an HTTP/1.1 request has exactly one Host field (it has \(hosts.count))")
        }
        if head.minorVersion == 0, hosts.count > 1 {
            throw CoalitionError(.badHost, "a request has at most one Host field")
        }
        let lengths = try Self.contentLengths(fields)
        let codings = try Self.transferCodings(fields)
        if !codings.isEmpty {
            guard lengths.isEmpty else {
                throw CoalitionError(
                    .lengthAndTransferEncoding,
                    "a request has both Content-Length and Transfer-Encoding; send one"
                )
            }
            guard head.minorVersion == 1 else {
                throw CoalitionError(.badTransferEncoding, "Transfer-Encoding is not allowed in HTTP/1.0")
            }
            framing = .chunked
        } else if let length = lengths.first {
            guard lengths.allSatisfy({ $0 == length }) else {
                throw CoalitionError(.conflictingContentLength, "the request has two different Content-Length values")
            }
            framing = length == 0 ? .none : .length(length)
        } else if ["POST", "PUT", "PATCH"].contains(head.method) {
            throw CoalitionError(.lengthRequired, "a \(head.method) request needs Content-Length or chunked encoding")
        } else {
            framing = .none
        }
        let connection = Self.tokens(fields, named: "connection")
        keepAlive = head.minorVersion == 1 ? !connection.contains("close") : connection.contains("keep-alive")
        let expectations = Self.tokens(fields, named: "expect")
        guard expectations.allSatisfy({ $0 == "100-continue" }) else {
            throw CoalitionError(.unsupportedExpectation, "the only expectation served is 100-continue")
        }
        expectsContinue = !expectations.isEmpty && head.minorVersion == 1
    }

    /// Every Content-Length value (a field may list several, `5, 5`), each checked as digits.
    static func contentLengths(_ fields: [(name: String, value: String)]) throws(CoalitionError) -> [Int64] {
        var lengths: [Int64] = []
        for field in fields where HTTPHeaders.sameName(field.name, "content-length") {
            for part in field.value.split(separator: ",", omittingEmptySubsequences: false) {
                let text = part.trimmingWhitespace()
                guard !text.isEmpty, text.utf8.count <= 18, text.utf8.allSatisfy(HTTPSyntax.isDigit),
                    let length = Int64(text)
                else {
                    throw CoalitionError(.badContentLength, "Content-Length is not a whole number of at most 18 digits")
                }
                lengths.append(length)
            }
        }
        return lengths
    }

    /// The transfer codings in order; only a single, final `chunked` is served.
    static func transferCodings(_ fields: [(name: String, value: String)]) throws(CoalitionError) -> [String] {
        let codings = tokens(fields, named: "transfer-encoding", keepEmpty: true)
        guard !codings.isEmpty else { return [] }
        if let unknown = codings.first(where: { $0 != "chunked" }) {
            if unknown.isEmpty {
                throw CoalitionError(.badTransferEncoding, "Transfer-Encoding has an empty coding")
            }
            throw CoalitionError(.unsupportedTransferEncoding, "the only transfer coding served is chunked")
        }
        guard codings.count == 1 else {
            throw CoalitionError(.badTransferEncoding, "chunked is applied more than once")
        }
        return codings
    }

    /// The comma-separated, lowercased tokens of every field named `name`.
    static func tokens(
        _ fields: [(name: String, value: String)],
        named name: String,
        keepEmpty: Bool = false
    )
        -> [String]
    {
        fields.filter { HTTPHeaders.sameName($0.name, name) }.flatMap { field in
            field.value.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingWhitespace().lowercased()
            }
        }.filter { keepEmpty || !$0.isEmpty }
    }
}

extension Substring {
    func trimmingWhitespace() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
