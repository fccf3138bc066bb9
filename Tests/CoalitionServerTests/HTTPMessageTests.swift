import CoalitionServer
import Testing

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
}
