import CoalitionKit
import Testing

@testable import CoalitionServer

/// Decodes `bytes` fed in random pieces; the body, and the bytes after the chunked body.
func decodeChunked(_ bytes: [UInt8], random: inout SeededGenerator) throws -> (body: [UInt8], rest: [UInt8])? {
    var decoder = HTTPChunkedDecoder()
    var body: [UInt8] = []
    var start = 0
    while start < bytes.count {
        let end = min(bytes.count, start + Int.random(in: 1...50, using: &random))
        let taken = try decoder.decode(bytes[start..<end]) { body += $0 }
        if decoder.isComplete { return (body, Array(bytes[(start + taken)...])) }
        start = end
    }
    return nil
}

@Suite("HTTP chunked bodies: decoded at any split, refused when malformed")
struct HTTPChunkedDecoderTests {
    static let extensions = ["", ";a", ";a=b", " ; name = \"quoted \\\" value\"", ";x;y=1", "\t;z=\"\""]

    @Test(arguments: 0..<150)
    func generatedChunkedBodiesDecodeToTheirBytes(seed: Int) throws {
        var random = SeededGenerator(seed: UInt64(seed) + 7000)
        let body: [UInt8] = (0..<Int.random(in: 0...3000, using: &random)).map { _ in
            UInt8.random(in: 0...255, using: &random)
        }
        var encoded: [UInt8] = []
        var index = 0
        while index < body.count {
            let size = min(body.count - index, Int.random(in: 1...700, using: &random))
            var hex = String(size, radix: 16, uppercase: random.chance(50))
            if random.chance(10) { hex = "00" + hex }
            encoded += Array((hex + Self.extensions.randomElement(using: &random)! + "\r\n").utf8)
            encoded += body[index..<(index + size)] + Array("\r\n".utf8)
            index += size
        }
        encoded += Array(("0" + Self.extensions.randomElement(using: &random)! + "\r\n").utf8)
        if random.chance(30) { encoded += Array("Checksum: abc\r\nX-T:\r\n".utf8) }
        encoded += Array("\r\n".utf8)
        let next = Array("GET / HTTP/1.1\r\n".utf8)
        let decoded = try #require(try decodeChunked(encoded + next, random: &random))
        #expect(decoded.body == body)
        #expect(decoded.rest == next)
    }

    static let malformed: [(String, String)] = [
        ("x\r\nabc\r\n0\r\n\r\n", "BAD_CHUNK"),
        ("\r\n", "BAD_CHUNK"),
        ("-1\r\n", "BAD_CHUNK"),
        ("3 \r\nabc\r\n0\r\n\r\n", "BAD_CHUNK"),
        ("3;\r\nabc\r\n0\r\n\r\n", "BAD_CHUNK"),
        ("3;a=\r\nabc\r\n0\r\n\r\n", "BAD_CHUNK"),
        ("3;a=\"b\r\nabc\r\n0\r\n\r\n", "BAD_CHUNK"),
        ("3;a b\r\nabc\r\n0\r\n\r\n", "BAD_CHUNK"),
        ("3;a=b c\r\nabc\r\n0\r\n\r\n", "BAD_CHUNK"),
        ("3xyz\r\nabc\r\n0\r\n\r\n", "BAD_CHUNK"),
        ("3\r\nabcd\r\n0\r\n\r\n", "BAD_CHUNK"),
        ("3\r\nabc\n0\r\n\r\n", "BAD_CHUNK"),
        ("3\r\nabc0\r\n\r\n", "BAD_CHUNK"),
        ("10000000000000000\r\n", "BAD_CHUNK"),
        ("8000000000000000\r\n", "BAD_CHUNK"),
        ("3\rabc\r\n0\r\n\r\n", "BARE_CR"),
        ("3\nabc\r\n0\r\n\r\n", "BARE_LF"),
        ("0\r\nX: a\n\r\n", "BARE_LF"),
        ("0\r\nX : a\r\n\r\n", "BAD_HEADER_NAME"),
        ("0\r\nX: a\u{1}\r\n\r\n", "BAD_HEADER_VALUE"),
        ("0\r\nX: a\r\n folded\r\n\r\n", "OBSOLETE_LINE_FOLDING"),
        ("3;" + String(repeating: "a", count: 5000) + "\r\n", "BAD_CHUNK"),
        ("0\r\nX: " + String(repeating: "a", count: 17000) + "\r\n\r\n", "HEADERS_TOO_LARGE"),
        ("0\r\n" + String(repeating: "X: a\r\n", count: 101) + "\r\n", "TOO_MANY_HEADERS"),
    ]

    @Test(arguments: malformed)
    func malformedChunkedBodiesAreRefused(text: String, code: String) {
        var decoder = HTTPChunkedDecoder()
        var found: String?
        do {
            _ = try decoder.decode(ArraySlice(text.utf8)) { _ in }
        } catch let error as CoalitionError {
            found = error.code.rawValue
        } catch {
            found = "\(error)"
        }
        #expect(found == code)
        #expect(!decoder.isComplete)
    }
}
