import CoalitionKit
import Foundation
import Testing

@testable import CoalitionServer

@Suite("HTTP response heads: the Date field, and fields only the transport writes")
struct HTTPResponseHeadTests {
    @Test func httpDateAgreesWithTheCalendarOnGeneratedTimes() {
        #expect(HTTPResponseHead.httpDate(Date(timeIntervalSince1970: 784_111_777)) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPResponseHead.httpDate(Date(timeIntervalSince1970: 951_782_400)) == "Tue, 29 Feb 2000 00:00:00 GMT")
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        var random = SeededGenerator(seed: 1994)
        for _ in 0..<2000 {
            let date = Date(timeIntervalSince1970: TimeInterval(Int64.random(in: 0...8_000_000_000, using: &random)))
            #expect(HTTPResponseHead.httpDate(date) == formatter.string(from: date))
        }
    }

    @Test func aResponderCannotSetTransportFieldsOrBreakTheHead() {
        let headers = HTTPHeaders([
            ("Content-Length", "999"), ("Connection", "keep-alive"), ("X-Ok", "yes"), ("X-Bad", "a\r\nInjected: 1"),
        ])
        let head = HTTPResponseHead.serialize(status: 200, headers: headers, contentLength: 3, keepAlive: false)
        let text = String(decoding: head, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\nX-Ok: yes\r\nContent-Length: 3\r\nDate: "))
        #expect(text.hasSuffix("Connection: close\r\n\r\n"))
        #expect(!text.contains("Injected"))
        #expect(!text.contains("999"))
    }
}
