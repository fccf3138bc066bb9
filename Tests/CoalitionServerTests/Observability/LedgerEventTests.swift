import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

@testable import CoalitionServer

@Suite struct LedgerEventTests {
    func lines(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    @Test func aFileTakenInIsOneEventLineWithItsRequestIDAndCountsInTheMetrics() throws {
        let path = NSTemporaryDirectory() + "coalition-events-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let observed = try ObservedSandbox(log: try RequestLog(path: path))
        var body: [String] = []
        for n in 1...3 { body += SettlementLines.enrolAndEarn(n, prefix: "E", miles: 1_000 * n) }
        body.append("EARN|E-BAD|\(SettlementLines.member(9))|100|2026-11-21T09:00:00Z|")  // not enrolled
        let request = try observed.sandbox.signer().request(
            method: "POST",
            target: "/v1/settlement-files",
            body: try observed.sandbox.uploadBody(try observed.sandbox.settlementFile(sequence: 1, body: body)),
            at: APITime.now
        )
        let answer = observed.responder.respond(to: request)
        #expect(answer.status == 200)
        let requestID = try #require(answer.headers["X-Request-Id"])
        let events = try lines(path).filter { $0["event"] != nil }
        #expect(events.count == 1)
        let event = try #require(events.first)
        #expect(event["event"] as? String == "batch_applied")
        #expect(event["request_id"] as? String == requestID)
        #expect(event["partner"] as? String == "SKYWAYS")
        #expect(event["records"] as? Int == body.count)
        #expect(event["rejected"] as? Int == 1)
        #expect(event["accepted"] as? Int == body.count - 1)
        let parsed = try observed.exposition()
        let records = "coalition_ingest_records_total"
        #expect(parsed.value(records, ["source": "file", "outcome": "accepted"]) == Double(body.count - 1))
        #expect(parsed.value(records, ["source": "file", "outcome": "rejected"]) == 1)
        #expect(parsed.value("coalition_ingest_batch_records_count") == 1)
        #expect(parsed.value("coalition_ingest_batch_records_sum") == Double(body.count))
        #expect(parsed.value("coalition_ingest_batch_records_bucket", ["le": "10"]) == 1)
    }

    @Test(arguments: ["6001000000010", "600100000001", "12345", "1234"])
    func memberNumbersAreMaskedToTheirLastFourDigits(number: String) throws {
        let path = NSTemporaryDirectory() + "coalition-events-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let log = try RequestLog(path: path)
        let sink = LedgerEventSink(requestID: "r1", log: log, metrics: RequestMetrics()) { APITime.now }
        var event = LedgerEvent(event: "transfer")
        event.member = number
        event.points = 1_000
        LedgerEventSink.$current.withValue(sink) { LedgerEventSink.record(event) }
        LedgerEventSink.record(event)  // outside a request: dropped
        let written = try lines(path)
        #expect(written.count == 1)
        let masked = try #require(written.first?["member"] as? String)
        #expect(masked.count == number.count)
        #expect(!masked.contains(number))
        #expect(masked.hasSuffix(number.count > 4 ? String(number.suffix(4)) : ""))
        #expect(masked.filter { $0 != "*" }.count == (number.count > 4 ? 4 : 0))
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains(number) == false)
    }
}
