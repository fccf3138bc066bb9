/// The contract between the HTTP transport (sockets, TLS, the strict request parser) and
/// what answers requests (the partner API, and later the member and operator pages).
///
/// The transport owns every byte that comes from outside: it parses and bounds the request
/// line, the headers and the body, and hands the responder a whole, valid request. The
/// responder never touches a socket.

/// A header field list in the order received. Names compare case-insensitively.
package struct HTTPHeaders: Sendable {
    package private(set) var fields: [(name: String, value: String)]

    package init(_ fields: [(name: String, value: String)] = []) {
        self.fields = fields
    }

    /// The first value of the field named `name` (case-insensitive), if any.
    package subscript(name: String) -> String? {
        fields.first { HTTPHeaders.sameName($0.name, name) }?.value
    }

    /// Whether two field names are equal ignoring ASCII case (field names are tokens, so
    /// ASCII is all they can hold), without making lowercased copies.
    static func sameName(_ a: String, _ b: String) -> Bool {
        var left = a.utf8.makeIterator()
        var right = b.utf8.makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return true
            case (let x?, let y?):
                guard x == y || (x | 0x20 == y | 0x20 && (x | 0x20) >= 0x61 && (x | 0x20) <= 0x7A) else {
                    return false
                }
            default: return false
            }
        }
    }

    package mutating func add(_ name: String, _ value: String) {
        fields.append((name, value))
    }
}

/// A request's head: what the transport knows before it reads the body.
package struct HTTPRequestHead: Sendable {
    /// `GET`, `POST`, … as sent (methods are case-sensitive).
    package var method: String
    /// The request-target as sent, in origin form (`/v1/statements?cycle=3`).
    package var target: String
    /// The target up to `?`, not percent-decoded.
    package var path: String
    /// The target after `?`, if any, not percent-decoded.
    package var query: String?
    package var headers: HTTPHeaders
    /// The peer, for logs and attempt limits (`127.0.0.1:53122`).
    package var remoteAddress: String

    package init(
        method: String,
        target: String,
        headers: HTTPHeaders,
        remoteAddress: String
    ) {
        self.method = method
        self.target = target
        if let mark = target.firstIndex(of: "?") {
            self.path = String(target[..<mark])
            self.query = String(target[target.index(after: mark)...])
        } else {
            self.path = target
            self.query = nil
        }
        self.headers = headers
        self.remoteAddress = remoteAddress
    }
}

/// How the transport should take a request's body, decided by the responder from the head.
package enum HTTPBodyPolicy: Sendable, Equatable {
    /// Read into memory, at most this many bytes (a larger body is answered 413).
    case inMemory(maximum: Int)
    /// Streamed into a temporary file in `directory`, at most this many bytes (413 beyond);
    /// never held whole in memory. The file is removed after the response is sent.
    case spooled(directory: String, maximum: Int64)
}

/// A request's body as the transport received it: whole, with its length checked.
package enum HTTPRequestBody: Sendable {
    case bytes([UInt8])
    case file(path: String, length: Int64)
}

package struct HTTPRequest: Sendable {
    package var head: HTTPRequestHead
    package var body: HTTPRequestBody

    package init(head: HTTPRequestHead, body: HTTPRequestBody) {
        self.head = head
        self.body = body
    }
}

/// A response. The transport adds `Content-Length`, `Date` and `Connection`.
package struct HTTPResponse: Sendable {
    package enum Body: Sendable {
        case bytes([UInt8])
        /// A file sent as it is on disk (an acknowledgement, a statement).
        case file(path: String)
    }

    package var status: Int
    package var headers: HTTPHeaders
    package var body: Body

    package init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: Body = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// What answers requests. Called from the transport's I/O threads, several at once: an
/// implementation serialises what must be serialised itself (the ledger's single writer).
/// It may block until the answer is ready (a write is answered only once durable).
package protocol HTTPResponder: Sendable {
    /// How to take the body of a request with this head. Called before any body byte is read.
    func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy
    /// The answer to a whole, valid request.
    func respond(to request: HTTPRequest) -> HTTPResponse
}
