import CoalitionKit
import Testing

@testable import CoalitionServer

func frame(_ text: String) -> Result<HTTPRequestFrame, CoalitionError> {
    var parser = HTTPHeadParser()
    do throws(CoalitionError) {
        guard case .complete(let head, _) = try parser.parse(Array(text.utf8)) else {
            return .failure(CoalitionError("INCOMPLETE", "the test's head is not complete"))
        }
        return .success(try HTTPRequestFrame(head: head))
    } catch {
        return .failure(error)
    }
}

@Suite("HTTP framing: one reading of a body's length, or a refusal")
struct HTTPFramingTests {
    static let refused: [(String, String)] = [
        (
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            "CONTENT_LENGTH_WITH_TRANSFER_ENCODING"
        ),
        (
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
            "CONTENT_LENGTH_WITH_TRANSFER_ENCODING"
        ),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "CONFLICTING_CONTENT_LENGTH"),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", "CONFLICTING_CONTENT_LENGTH"),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n", "BAD_CONTENT_LENGTH"),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", "BAD_CONTENT_LENGTH"),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", "BAD_CONTENT_LENGTH"),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n", "BAD_CONTENT_LENGTH"),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", "BAD_CONTENT_LENGTH"),
        ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", "BAD_CONTENT_LENGTH"),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "UNSUPPORTED_TRANSFER_ENCODING"),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", "UNSUPPORTED_TRANSFER_ENCODING"),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "UNSUPPORTED_TRANSFER_ENCODING"),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", "UNSUPPORTED_TRANSFER_ENCODING"),
        (
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            "BAD_TRANSFER_ENCODING"
        ),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n", "BAD_TRANSFER_ENCODING"),
        ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", "BAD_TRANSFER_ENCODING"),
        ("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "BAD_TRANSFER_ENCODING"),
        ("POST / HTTP/1.1\r\nHost: a\r\n\r\n", "LENGTH_REQUIRED"),
        ("PUT / HTTP/1.0\r\n\r\n", "LENGTH_REQUIRED"),
        ("GET / HTTP/1.1\r\n\r\n", "BAD_HOST"),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "BAD_HOST"),
        ("GET / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n", "UNSUPPORTED_EXPECTATION"),
    ]

    @Test(arguments: refused)
    func ambiguousFramingIsRefused(text: String, code: String) {
        #expect(faultCode(frame(text)) == code)
    }

    @Test func framingIsDecidedFromTheHead() throws {
        let length = try frame("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\ncontent-length: 12\r\n\r\n").get()
        #expect(length.framing == .length(12))
        #expect(length.keepAlive)
        let chunked = try frame("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n").get()
        #expect(chunked.framing == .chunked)
        let none = try frame("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n").get()
        #expect(none.framing == .none)
        #expect(!none.keepAlive)
        let old = try frame("GET / HTTP/1.0\r\n\r\n").get()
        #expect(!old.keepAlive)
        let oldKept = try frame("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").get()
        #expect(oldKept.keepAlive)
        let expecting = try frame("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-Continue\r\n\r\n")
            .get()
        #expect(expecting.expectsContinue)
        #expect(try frame("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").get().framing == .none)
    }
}
