import CoalitionKit
import Foundation
import Testing

@testable import CoalitionServer

/// Feeds `bytes` to a fresh parser in pieces cut at random places.
func parseHead(
    _ bytes: [UInt8],
    limits: HTTPHeadLimits = HTTPHeadLimits(),
    random: inout SeededGenerator
) throws(CoalitionError) -> (HTTPParsedHead, rest: [UInt8])? {
    var parser = HTTPHeadParser(limits: limits)
    var start = 0
    while start < bytes.count {
        let end = min(bytes.count, start + Int.random(in: 1...64, using: &random))
        if case .complete(let head, let consumed) = try parser.parse(bytes[start..<end]) {
            return (head, Array(bytes[(start + consumed)...]))
        }
        start = end
    }
    return nil
}

func parseHeadWhole(
    _ text: String,
    limits: HTTPHeadLimits = HTTPHeadLimits()
) -> Result<HTTPParsedHead?, CoalitionError> {
    var parser = HTTPHeadParser(limits: limits)
    do throws(CoalitionError) {
        if case .complete(let head, _) = try parser.parse(Array(text.utf8)) { return .success(head) }
        return .success(nil)
    } catch {
        return .failure(error)
    }
}

func faultCode<T>(_ result: Result<T, CoalitionError>) -> String? {
    if case .failure(let error) = result { return error.code.rawValue }
    return nil
}

@Suite("HTTP head parser: strict, bounded, incremental")
struct HTTPHeadParserTests {
    static let tokenBytes = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~".utf8)
    static let valueBytes = Array((0x20...0x7E).map { UInt8($0) }) + [0x09]

    static func token(_ random: inout SeededGenerator, length: ClosedRange<Int>) -> String {
        String(
            decoding: (0..<Int.random(in: length, using: &random)).map { _ in tokenBytes.randomElement(using: &random)!
            },
            as: UTF8.self
        )
    }

    /// A value with no leading or trailing whitespace (the parser trims it).
    static func value(_ random: inout SeededGenerator) -> String {
        let inner = (0..<Int.random(in: 0...40, using: &random)).map { _ in valueBytes.randomElement(using: &random)! }
        let bytes = [UInt8(ascii: "v")] + inner + [UInt8(ascii: "z")]
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test(arguments: 0..<200)
    func generatedValidHeadsParseAtAnySplit(seed: Int) throws {
        var random = SeededGenerator(seed: UInt64(seed))
        let method = Self.token(&random, length: 1...10)
        let target = "/" + Self.token(&random, length: 0...60).replacingOccurrences(of: "%", with: "_")
        let minor = Int.random(in: 0...1, using: &random)
        var fields: [(String, String)] = []
        for _ in 0..<Int.random(in: 0...100, using: &random) {
            fields.append((Self.token(&random, length: 1...20), Self.value(&random)))
        }
        var text = random.chance(10) ? "\r\n" : ""
        text += "\(method) \(target) HTTP/1.\(minor)\r\n"
        for (name, value) in fields {
            let before = random.chance(50) ? " " : (random.chance(20) ? "\t " : "")
            let after = random.chance(20) ? " \t" : ""
            text += "\(name):\(before)\(value)\(after)\r\n"
        }
        text += "\r\n"
        let body: [UInt8] = (0..<Int.random(in: 0...50, using: &random)).map { _ in
            UInt8.random(in: 0...255, using: &random)
        }
        let parsed = try #require(try parseHead(Array(text.utf8) + body, random: &random))
        #expect(parsed.0.method == method)
        #expect(parsed.0.target == target)
        #expect(parsed.0.minorVersion == minor)
        #expect(parsed.0.headers.fields.map(\.name) == fields.map(\.0))
        #expect(parsed.0.headers.fields.map(\.value) == fields.map(\.1))
        #expect(parsed.rest == body)
    }

    static let malformed: [(String, String)] = [
        ("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", "BAD_REQUEST_LINE"),
        ("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", "BAD_REQUEST_LINE"),
        (" GET / HTTP/1.1\r\nHost: a\r\n\r\n", "BAD_REQUEST_LINE"),
        ("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", "BAD_REQUEST_LINE"),
        ("GET / HTTP/1.1\tx\r\n\r\n", "BAD_REQUEST_LINE"),
        ("GET / http/1.1\r\nHost: a\r\n\r\n", "BAD_REQUEST_LINE"),
        ("GET / HTTP/1\r\nHost: a\r\n\r\n", "BAD_REQUEST_LINE"),
        ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", "HTTP_VERSION_NOT_SUPPORTED"),
        ("GET / HTTP/1.2\r\nHost: a\r\n\r\n", "HTTP_VERSION_NOT_SUPPORTED"),
        ("GET / HTTP/0.9\r\nHost: a\r\n\r\n", "HTTP_VERSION_NOT_SUPPORTED"),
        ("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", "BAD_REQUEST_TARGET"),
        ("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", "BAD_REQUEST_TARGET"),
        ("GET /a\u{7F} HTTP/1.1\r\nHost: a\r\n\r\n", "BAD_REQUEST_TARGET"),
        ("GET /é HTTP/1.1\r\nHost: a\r\n\r\n", "BAD_REQUEST_TARGET"),
        ("GET / HTTP/1.1\rHost: a\r\n\r\n", "BARE_CR"),
        ("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", "BARE_CR"),
        ("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", "BARE_CR"),
        ("GET / HTTP/1.1\nHost: a\r\n\r\n", "BARE_LF"),
        ("GET / HTTP/1.1\r\nHost: a\n\r\n", "BARE_LF"),
        ("GET / HTTP/1.1\r\nHost: a\r\n\n", "BARE_LF"),
        ("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", "OBSOLETE_LINE_FOLDING"),
        ("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n", "OBSOLETE_LINE_FOLDING"),
        ("GET / HTTP/1.1\r\n Host: a\r\n\r\n", "OBSOLETE_LINE_FOLDING"),
        ("GET / HTTP/1.1\r\nHost : a\r\n\r\n", "BAD_HEADER_NAME"),
        ("GET / HTTP/1.1\r\nHost\r\n\r\n", "BAD_HEADER_NAME"),
        ("GET / HTTP/1.1\r\n: a\r\n\r\n", "BAD_HEADER_NAME"),
        ("GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", "BAD_HEADER_NAME"),
        ("GET / HTTP/1.1\r\nHost: a\u{0}b\r\n\r\n", "BAD_HEADER_VALUE"),
        ("GET / HTTP/1.1\r\nHost: a\u{7F}\r\n\r\n", "BAD_HEADER_VALUE"),
        ("GET / HTTP/1.1\r\nHost: é\r\n\r\n", "BAD_HEADER_VALUE"),
        ("GET / HTTP/1.1\r\nHost: a\u{1B}[31m\r\n\r\n", "BAD_HEADER_VALUE"),
    ]

    @Test(arguments: malformed)
    func malformedHeadsAreRefusedWithTheirCode(text: String, code: String) {
        #expect(faultCode(parseHeadWhole(text)) == code)
        // The same fault is found when the bytes trickle in one at a time.
        var parser = HTTPHeadParser()
        var found: String?
        for byte in text.utf8 {
            do throws(CoalitionError) {
                if case .complete = try parser.parse([byte]) { break }
            } catch {
                found = error.code.rawValue
                break
            }
        }
        #expect(found == code)
    }

    @Test(arguments: 0..<100)
    func aForbiddenByteAnywhereInAFieldIsRefused(seed: Int) {
        var random = SeededGenerator(seed: UInt64(seed) + 1000)
        let forbidden = (Array(0x00...0x08) + Array(0x0B...0x0C) + Array(0x0E...0x1F) + Array(0x7F...0xFF))
            .map { UInt8($0) }
        let name = Self.token(&random, length: 1...20)
        let value = Self.value(&random)
        var line = Array("\(name): \(value)".utf8)
        let place = Int.random(in: 0..<line.count, using: &random)
        line.insert(forbidden.randomElement(using: &random)!, at: place)
        let bytes = Array("GET / HTTP/1.1\r\n".utf8) + line + Array("\r\nHost: a\r\n\r\n".utf8)
        var parser = HTTPHeadParser()
        #expect(throws: CoalitionError.self) { try parser.parse(bytes) }
        var again = HTTPHeadParser()
        do throws(CoalitionError) {
            _ = try again.parse(bytes)
        } catch {
            #expect(["BAD_HEADER_NAME", "BAD_HEADER_VALUE"].contains(error.code.rawValue))
        }
    }

    @Test func requestLineIsBoundedAt8KiB() {
        let fits = "GET /" + String(repeating: "a", count: 8192 - 14) + " HTTP/1.1"
        #expect(fits.utf8.count == 8192)
        #expect(faultCode(parseHeadWhole(fits + "\r\nHost: a\r\n\r\n")) == nil)
        let over = "GET /" + String(repeating: "a", count: 8192 - 13) + " HTTP/1.1"
        #expect(faultCode(parseHeadWhole(over + "\r\nHost: a\r\n\r\n")) == "REQUEST_LINE_TOO_LONG")
        // Refused before the line ends: a client cannot make the server hold an endless line.
        #expect(faultCode(parseHeadWhole("GET /" + String(repeating: "a", count: 9000))) == "REQUEST_LINE_TOO_LONG")
        #expect(faultCode(parseHeadWhole(String(repeating: "\r\n", count: 5000))) == "REQUEST_LINE_TOO_LONG")
    }

    @Test func headerSectionIsBoundedAt16KiB() {
        // 16 fields of 1024 bytes with their CRLF, and the closing empty line: 16386 bytes.
        let field = "X-F: " + String(repeating: "b", count: 1024 - 7) + "\r\n"
        #expect(field.utf8.count == 1024)
        let fifteen = String(repeating: field, count: 15) + "Host: a\r\n"
        #expect(faultCode(parseHeadWhole("GET / HTTP/1.1\r\n" + fifteen + "\r\n")) == nil)
        let over = String(repeating: field, count: 16) + "Host: a\r\n"
        #expect(faultCode(parseHeadWhole("GET / HTTP/1.1\r\n" + over + "\r\n")) == "HEADERS_TOO_LARGE")
        #expect(
            faultCode(parseHeadWhole("GET / HTTP/1.1\r\nX: " + String(repeating: "b", count: 20000)))
                == "HEADERS_TOO_LARGE"
        )
    }

    @Test func headerFieldsAreBoundedAt100() {
        let hundred = (0..<99).map { "X-\($0): v\r\n" }.joined() + "Host: a\r\n"
        #expect(faultCode(parseHeadWhole("GET / HTTP/1.1\r\n" + hundred + "\r\n")) == nil)
        let more = hundred + "X-Last: v\r\n"
        #expect(faultCode(parseHeadWhole("GET / HTTP/1.1\r\n" + more + "\r\n")) == "TOO_MANY_HEADERS")
    }

    @Test func statusOfEachTransportCodeFollowsRFC9112() {
        #expect(ReasonCode.requestLineTooLong.httpStatus == 414)
        #expect(ReasonCode.headersTooLarge.httpStatus == 431)
        #expect(ReasonCode.tooManyHeaders.httpStatus == 431)
        #expect(ReasonCode.lengthRequired.httpStatus == 411)
        #expect(ReasonCode.bodyTooLarge.httpStatus == 413)
        #expect(ReasonCode.unsupportedTransferEncoding.httpStatus == 501)
        #expect(ReasonCode.httpVersionNotSupported.httpStatus == 505)
        #expect(ReasonCode.bareCR.httpStatus == 400)
        #expect(ReasonCode.serverBusy.httpStatus == 503)
    }
}
