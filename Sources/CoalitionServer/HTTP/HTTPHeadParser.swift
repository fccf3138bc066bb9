import CoalitionKit

/// The bounds on a request's head (RFC 9112 leaves them to the server).
package struct HTTPHeadLimits: Sendable, Equatable {
    /// The request line's bytes, without its CRLF (414 beyond).
    package var requestLine: Int
    /// The header section's bytes, every field line and its CRLF (431 beyond).
    package var headerBytes: Int
    /// The number of header fields (431 beyond).
    package var headerFields: Int

    package init(requestLine: Int = 8192, headerBytes: Int = 16384, headerFields: Int = 100) {
        self.requestLine = requestLine
        self.headerBytes = headerBytes
        self.headerFields = headerFields
    }
}

/// A request head as parsed, before its framing is decided.
package struct HTTPParsedHead: Sendable {
    package var method: String
    package var target: String
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    package var minorVersion: Int
    package var headers: HTTPHeaders
}

/// A state machine that reads a request head from bytes as they arrive, strictly: CRLF line
/// ends only (a bare CR or LF is refused), no obsolete line folding, token bytes in names,
/// visible ASCII in values, every size bounded. Feed it bytes until it says `complete`.
package struct HTTPHeadParser: Sendable {
    package enum Progress: Sendable {
        /// Every byte given was taken; the head is not complete yet.
        case needMore
        /// The head ended after `consumed` bytes of the last input; the rest is body or the
        /// next request.
        case complete(HTTPParsedHead, consumed: Int)
    }

    let limits: HTTPHeadLimits
    /// The bytes of the line being read, without its line end.
    private var line: [UInt8] = []
    private var sawCR = false
    /// Bytes taken before the request line (empty lines RFC 9112 §2.2 says to ignore).
    private var leadingBytes = 0
    private var requestLine: (method: String, target: String, minor: Int)?
    private var headerBytes = 0
    private var fields: [(name: String, value: String)] = []

    package init(limits: HTTPHeadLimits = HTTPHeadLimits()) {
        self.limits = limits
    }

    /// Whether any byte of a request was taken (a timeout then deserves an answer).
    package var hasStarted: Bool { !line.isEmpty || sawCR || requestLine != nil || leadingBytes > 0 }

    /// Takes `bytes`; throws the fault (a `CoalitionError` with a transport code) at the
    /// first byte that makes the head invalid.
    package mutating func parse(_ bytes: some Collection<UInt8>) throws(CoalitionError) -> Progress {
        var consumed = 0
        for byte in bytes {
            consumed += 1
            if sawCR {
                guard byte == 0x0A else { throw CoalitionError(.bareCR, "a CR not followed by LF") }
                sawCR = false
                if let head = try endLine() { return .complete(head, consumed: consumed) }
                continue
            }
            switch byte {
            case 0x0D: sawCR = true
            case 0x0A: throw CoalitionError(.bareLF, "a line ends with LF alone; HTTP lines end with CRLF")
            default:
                line.append(byte)
                try checkSize()
            }
        }
        return .needMore
    }

    private func checkSize() throws(CoalitionError) {
        if requestLine == nil {
            guard line.count <= limits.requestLine else {
                throw CoalitionError(.requestLineTooLong, "the request line is over \(limits.requestLine) bytes")
            }
        } else {
            guard headerBytes + line.count <= limits.headerBytes else {
                throw CoalitionError(.headersTooLarge, "the header section is over \(limits.headerBytes) bytes")
            }
        }
    }

    /// Handles a complete line; returns the head when the line was the empty one ending it.
    private mutating func endLine() throws(CoalitionError) -> HTTPParsedHead? {
        defer { line.removeAll(keepingCapacity: true) }
        guard let requestLine else {
            if line.isEmpty {
                leadingBytes += 2
                guard leadingBytes <= limits.requestLine else {
                    throw CoalitionError(.requestLineTooLong, "too many empty lines before the request line")
                }
                return nil
            }
            self.requestLine = try Self.parseRequestLine(line)
            return nil
        }
        headerBytes += line.count + 2
        guard headerBytes <= limits.headerBytes else {
            throw CoalitionError(.headersTooLarge, "the header section is over \(limits.headerBytes) bytes")
        }
        if line.isEmpty {
            return HTTPParsedHead(
                method: requestLine.method,
                target: requestLine.target,
                minorVersion: requestLine.minor,
                headers: HTTPHeaders(fields)
            )
        }
        guard fields.count < limits.headerFields else {
            throw CoalitionError(.tooManyHeaders, "more than \(limits.headerFields) header fields")
        }
        fields.append(try HTTPSyntax.parseFieldLine(line))
        return nil
    }

    /// `method SP request-target SP HTTP/1.x`, single spaces, origin-form target.
    static func parseRequestLine(_ line: [UInt8]) throws(CoalitionError) -> (String, String, Int) {
        let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(HTTPSyntax.isTokenByte) else {
            throw CoalitionError(.badRequestLine, "the request line is not METHOD SP TARGET SP HTTP-VERSION")
        }
        let target = parts[1]
        guard target.first == UInt8(ascii: "/"), target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw CoalitionError(
                .badRequestTarget,
                "the request target must be an absolute path (origin form) of visible ASCII"
            )
        }
        let version = Array(parts[2])
        guard version.count == 8, Array(version.prefix(5)) == Array("HTTP/".utf8), version[6] == UInt8(ascii: "."),
            HTTPSyntax.isDigit(version[5]), HTTPSyntax.isDigit(version[7])
        else {
            throw CoalitionError(.badRequestLine, "the request line does not end with HTTP/1.1 or HTTP/1.0")
        }
        guard version[5] == UInt8(ascii: "1"), version[7] <= UInt8(ascii: "1") else {
            throw CoalitionError(.httpVersionNotSupported, "only HTTP/1.1 and HTTP/1.0 are served")
        }
        return (
            String(decoding: parts[0], as: UTF8.self), String(decoding: target, as: UTF8.self), Int(version[7] - 0x30)
        )
    }
}

/// The byte classes and field-line grammar of RFC 9110 §5 and RFC 9112 §5.
enum HTTPSyntax {
    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// tchar: `!#$%&'*+-.^_`|~`, digits and letters.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), 0x30...0x39: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default: false
        }
    }

    static func isWhitespace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 }

    /// Visible ASCII, space and tab. Bytes above 0x7F (obs-text) are refused: this server's
    /// fields are ASCII, and a byte that means different things to different parsers is
    /// what smuggling is made of.
    static func isValueByte(_ byte: UInt8) -> Bool { (byte >= 0x20 && byte < 0x7F) || byte == 0x09 }

    /// `name ":" OWS value OWS`; a line starting with whitespace is obsolete folding.
    static func parseFieldLine(_ line: [UInt8]) throws(CoalitionError) -> (name: String, value: String) {
        if let first = line.first, isWhitespace(first) {
            throw CoalitionError(.obsoleteLineFolding, "a header line starts with whitespace (obsolete line folding)")
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0,
            line[..<colon].allSatisfy(isTokenByte)
        else {
            throw CoalitionError(.badHeaderName, "a header field name is empty or has a byte that is not a token byte")
        }
        var start = colon + 1
        var end = line.count
        while start < end, isWhitespace(line[start]) { start += 1 }
        while end > start, isWhitespace(line[end - 1]) { end -= 1 }
        let value = line[start..<end]
        let name = String(decoding: line[..<colon], as: UTF8.self)
        guard value.allSatisfy(isValueByte) else {
            throw CoalitionError(.badHeaderValue, "the value of \(name) has a control byte or a byte above 0x7E")
        }
        return (name, String(decoding: value, as: UTF8.self))
    }
}
