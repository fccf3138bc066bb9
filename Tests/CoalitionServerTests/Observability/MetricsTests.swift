import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

@testable import CoalitionServer

/// A sandbox's partner API behind the server's whole responder, as `serve` composes it.
struct ObservedSandbox {
    let sandbox: APISandbox
    let metrics = RequestMetrics()
    let responder: ObservedResponder

    init(log: RequestLog? = nil) throws {
        sandbox = try APISandbox()
        let operations = OperationsEndpoints(metrics: metrics, writer: sandbox.writer)
        let routes = ServerResponder(partnerAPI: sandbox.api, operations: operations)
        responder = ObservedResponder(routes, metrics: metrics, log: log) { APITime.now }
    }

    func get(_ target: String) -> HTTPResponse {
        let head = HTTPRequestHead(method: "GET", target: target, headers: HTTPHeaders(), remoteAddress: "127.0.0.1:1")
        return responder.respond(to: HTTPRequest(head: head, body: .bytes([])))
    }

    func signedGet(_ target: String, as partner: String = "SKYWAYS") throws -> HTTPResponse {
        responder.respond(to: try sandbox.signer(partner).request(method: "GET", target: target, at: APITime.now))
    }

    /// Members 1…`members` enrolled and earning at SKYWAYS, and redemptions of `redeem`
    /// points each at HARBOR by the first `redeemers` of them (obligations of SKYWAYS).
    func fill(members: Int, miles: [Int], redeemers: Int, redeem: Int) throws {
        var body: [String] = []
        for n in 1...members { body += SettlementLines.enrolAndEarn(n, prefix: "M", miles: miles[n - 1]) }
        #expect(try sandbox.deliver(try sandbox.settlementFile(sequence: 1, body: body)).status == 200)
        guard redeemers > 0 else { return }
        let redemptions = (1...redeemers).map {
            "REDEEM|H-R\($0)|\(SettlementLines.member($0))|\(redeem)|2026-11-21T12:00:00Z|stay"
        }
        let file = try sandbox.settlementFile("HARBOR", sequence: 1, body: redemptions)
        #expect(try sandbox.deliver(file, as: "HARBOR").status == 200)
    }

    func exposition() throws -> Exposition {
        let response = get("/metrics")
        #expect(response.status == 200)
        #expect(response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8")
        return try Exposition(parsing: String(decoding: bodyBytes(response), as: UTF8.self))
    }
}

@Suite struct MetricsTests {
    @Test func metricTextEscapesLabelsAndWritesSecondsExactly() throws {
        var text = MetricsText()
        text.family("x_total", type: "counter", help: "a \\ b\nc")
        text.sample("x_total", [("path", "a\"b\\c\nd")], 3)
        text.sample("x_total", [("path", "plain")], nanoseconds: 1_500_000)
        #expect(text.text.contains("# HELP x_total a \\\\ b\\nc\n"))
        let parsed = try Exposition(parsing: text.text)
        #expect(parsed.value("x_total", ["path": "a\"b\\c\nd"]) == 3)
        #expect(parsed.value("x_total", ["path": "plain"]) == 0.0015)
        #expect(MetricsText.seconds(2_000_000_000) == "2")
        #expect(MetricsText.seconds(10) == "0.00000001")
    }

    @Test func theStrictParserRefusesMalformedText() {
        let bad = [
            "x 1",  // no TYPE, no newline
            "# TYPE x gauge\nx 1",  // no newline
            "x 1\n",  // sample before TYPE
            "# TYPE x gauge\ny 1\n",  // outside its family
            "# TYPE x gauge\nx{a=\"1\"} 1\nx{a=\"1\"} 2\n",  // duplicate
            "# TYPE x gauge\nx{a=\"\\t\"} 1\n",  // bad escape
            "# TYPE x gauge\nx one\n",  // bad value
            "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
        ]
        for text in bad { #expect(throws: Exposition.ParseError.self) { try Exposition(parsing: text) } }
    }

    /// Requests are counted by route template, method and status; every histogram is whole.
    @Test func requestsAreCountedByRouteAndStatus() throws {
        let observed = try ObservedSandbox()
        #expect(observed.get("/health").status == 200)
        #expect(observed.get("/health").status == 200)
        #expect(observed.get("/nowhere").status == 404)
        #expect(observed.get("/v1/statements").status == 401)
        #expect(try observed.signedGet("/v1/statements").status == 200)
        #expect(try observed.signedGet("/v1/acknowledgements/7").status == 404)
        let parsed = try observed.exposition()
        let requests = "coalition_http_requests_total"
        #expect(parsed.value(requests, ["route": "/health", "method": "GET", "status": "200"]) == 2)
        #expect(parsed.value(requests, ["route": "other", "method": "GET", "status": "404"]) == 1)
        #expect(parsed.value(requests, ["route": "/v1/statements", "method": "GET", "status": "401"]) == 1)
        #expect(parsed.value(requests, ["route": "/v1/statements", "method": "GET", "status": "200"]) == 1)
        let template = "/v1/acknowledgements/{sequence}"
        #expect(parsed.value(requests, ["route": template, "method": "GET", "status": "404"]) == 1)
        #expect(parsed.series(requests).values.reduce(0, +) == 6)
        let count = "coalition_http_request_duration_seconds_count"
        #expect(parsed.value(count, ["route": "/health"]) == 2)
        #expect(parsed.types["coalition_http_request_duration_seconds"] == "histogram")
        // The scrape itself is counted once it has been answered.
        let again = try observed.exposition()
        #expect(again.value(requests, ["route": "/metrics", "method": "GET", "status": "200"]) == 1)
    }

    /// The ledger's figures equal what the ledger holds, over generated networks.
    @Test(arguments: [3, 17, 101] as [UInt64])
    func ledgerFiguresMatchTheLedger(seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        let members = Int.random(in: 2...12, using: &random)
        let miles = (0..<members).map { _ in Int.random(in: 500...5_000, using: &random) }
        let redeemers = Int.random(in: 0...members, using: &random)
        let observed = try ObservedSandbox()
        try observed.fill(
            members: members,
            miles: miles,
            redeemers: redeemers,
            redeem: Int.random(in: 1...5, using: &random)
        )
        let turns = observed.sandbox.writer.statistics.turns
        let parsed = try observed.exposition()
        #expect(parsed.value("coalition_ledger_up") == 1)
        #expect(parsed.value("coalition_writer_turn_jobs_count") == Double(turns))
        #expect(parsed.value("coalition_writer_turn_jobs_sum") == Double(turns))  // one caller: one job a turn
        let expected = try observed.sandbox.writer.perform { ledger in try ExpectedFigures(ledger) }
        #expect(parsed.value("coalition_ledger_postings") == Double(expected.postings))
        #expect(parsed.value("coalition_ledger_members") == Double(members))
        for (issuer, points) in expected.outstanding {
            #expect(parsed.value("coalition_ledger_points_outstanding", ["issuer": issuer]) == Double(points))
            #expect(parsed.value("coalition_ledger_breakage_points", ["issuer": issuer]) == 0)
        }
        for (currency, amount) in expected.obligations {
            let labels = ["currency": currency]
            #expect(parsed.value("coalition_ledger_open_obligations_minor_units", labels) == Double(amount.amount))
            #expect(parsed.value("coalition_ledger_open_obligations", labels) == Double(amount.count))
        }
        // Each redemption at HARBOR of SKYWAYS points is one open obligation.
        #expect(parsed.series("coalition_ledger_open_obligations").values.reduce(0, +) == Double(redeemers))
        #expect(parsed.series("coalition_ledger_open_obligations").count == expected.obligations.count)
    }

    @Test func readyFollowsTheWriter() throws {
        let observed = try ObservedSandbox()
        let ready = observed.get("/ready")
        #expect(ready.status == 200)
        #expect(String(decoding: bodyBytes(ready), as: UTF8.self) == #"{"status":"ready"}"#)
        try observed.sandbox.writer.shutdown()
        let stopped = observed.get("/ready")
        #expect(stopped.status == 503)
        #expect(String(decoding: bodyBytes(stopped), as: UTF8.self).contains("SHUTTING_DOWN"))
        let parsed = try observed.exposition()
        #expect(parsed.value("coalition_ledger_up") == 0)
        #expect(parsed.value("coalition_ledger_postings") == nil)
        let post = HTTPRequestHead(method: "POST", target: "/ready", headers: HTTPHeaders(), remoteAddress: "x")
        #expect(observed.responder.respond(to: HTTPRequest(head: post, body: .bytes([]))).status == 405)
    }

    /// `/metrics` read by prometheus_client's own parser gives the same series.
    @Test(.enabled(if: PrometheusClient.isAvailable))
    func prometheusClientReadsTheSameSeries() throws {
        let observed = try ObservedSandbox()
        try observed.fill(members: 4, miles: [1_000, 2_000, 3_000, 4_000], redeemers: 2, redeem: 3)
        _ = observed.get("/health")
        let text = String(decoding: bodyBytes(observed.get("/metrics")), as: UTF8.self)
        let ours = try Exposition(parsing: text)
        let theirs = try PrometheusClient.parse(text)
        #expect(theirs.count == ours.values.count)
        for (key, value) in ours.values {
            let labels = key.labels.keys.sorted().map { "\($0)=\(key.labels[$0]!)" }.joined(separator: ",")
            #expect(theirs["\(key.name)|\(labels)"] == value, "\(key.name) \(labels)")
        }
    }
}

/// The figures computed from the ledger another way: postings counted in the journal,
/// outstanding points summed over members' lots, obligations over the network summary.
struct ExpectedFigures: Sendable {
    var postings = 0
    var outstanding: [String: Int64] = [:]
    var obligations: [String: (count: Int, amount: Int64)] = [:]

    init(_ ledger: Ledger) throws {
        if ledger.state.lastSeq > 0 {
            try ledger.store.forEachPosting(in: 1...ledger.state.lastSeq) { _ in postings += 1 }
        }
        for partner in ledger.network.sortedPartners { outstanding[partner.id.description] = 0 }
        for account in ledger.state.members.values {
            for lot in account.lots { outstanding[lot.issuer.description, default: 0] += lot.points }
        }
        for partner in ledger.network.sortedPartners { obligations[partner.settlementCurrency.code] = (0, 0) }
        // Obligations do not depend on the summary's time.
        for line in try NetworkSummary(ledger: ledger, at: Timestamp(seconds: 0)).obligations {
            let current = obligations[line.currency.code]!
            obligations[line.currency.code] = (current.count + line.count, current.amount + line.amount)
        }
    }
}

/// prometheus_client's text parser, run by python3 when it is installed.
enum PrometheusClient {
    /// python3 as the PATH finds it (where `pip install prometheus_client` put it).
    static let python = "/usr/bin/env"

    static var isAvailable: Bool {
        (try? runProgram(python, ["python3", "-c", "import prometheus_client.parser"]).status) == 0
    }

    /// `name|label=value,…` (labels sorted) to value, for every sample.
    static func parse(_ text: String) throws -> [String: Double] {
        let path = NSTemporaryDirectory() + "coalition-metrics-\(UUID().uuidString).txt"
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let script = """
            import sys
            from prometheus_client.parser import text_string_to_metric_families
            for family in text_string_to_metric_families(open(sys.argv[1]).read()):
                for s in family.samples:
                    labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
                    print(f"{s.name}|{labels}\\t{s.value!r}")
            """
        let (status, output) = try runProgram(python, ["python3", "-c", script, path])
        guard status == 0 else { throw CoalitionError(.io, "prometheus_client refused the text: \(output)") }
        var samples: [String: Double] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: "\t")
            samples[String(parts[0])] = Double(parts[1]) ?? (parts[1] == "inf" ? .infinity : .nan)
        }
        return samples
    }
}
