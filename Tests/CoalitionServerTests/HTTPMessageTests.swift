import Testing

@testable import CoalitionServer

@Suite("HTTP messages: the head splits its target, headers compare without case")
struct HTTPMessageTests {
    @Test func targetSplitsAtTheFirstQuestionMark() {
        let head = HTTPRequestHead(
            method: "GET",
            target: "/v1/statements?cycle=3?x",
            headers: HTTPHeaders(),
            remoteAddress: "127.0.0.1:1"
        )
        #expect(head.path == "/v1/statements")
        #expect(head.query == "cycle=3?x")
    }

    @Test func headerNamesAreCaseInsensitive() {
        let headers = HTTPHeaders([("Content-Type", "application/json"), ("content-type", "text/plain")])
        #expect(headers["CONTENT-TYPE"] == "application/json")
        #expect(headers["X-Missing"] == nil)
    }

    /// Only ASCII letters fold: every pair of bytes that differ by 0x20 but are not both
    /// letters (`@` and a backquote, `[` and `{`) stays different, and lengths must agree.
    @Test func namesFoldOnlyASCIILetters() {
        for first in UInt8(0x21)...UInt8(0x7E) {
            for second in UInt8(0x21)...UInt8(0x7E) {
                let a = String(decoding: [first, 0x2D], as: UTF8.self)
                let b = String(decoding: [second, 0x2D], as: UTF8.self)
                #expect(HTTPHeaders.sameName(a, b) == (a.lowercased() == b.lowercased()))
            }
        }
        #expect(!HTTPHeaders.sameName("Host", "Hos"))
        #expect(!HTTPHeaders.sameName("", "a"))
        #expect(HTTPHeaders.sameName("", ""))
    }
}
