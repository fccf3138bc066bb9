import CoalitionKit

/// What the operator's monitoring reads: `GET /metrics` (Prometheus text format 0.0.4) and
/// `GET /ready` (200 once the writer runs and the store answers, 503 otherwise: with
/// `{"status": "standby", "reason": "STANDBY"}` on a standby server).
/// `docs/operations.md` lists every metric.
package struct OperationsEndpoints: HTTPResponder {
    struct Readiness: Encodable {
        let status: String
        let reason: String?
    }

    package static let paths: Set<String> = ["/metrics", "/ready"]

    let metrics: RequestMetrics
    let writer: LedgerWriter
    /// The webhook worker, whose families `/metrics` shows when there is one.
    let webhooks: WebhookDelivery?
    /// The journal's referral figures so far, so a scrape reads only new postings.
    let referralTally = ReferralTallyKeeper()

    package init(metrics: RequestMetrics, writer: LedgerWriter, webhooks: WebhookDelivery? = nil) {
        self.metrics = metrics
        self.writer = writer
        self.webhooks = webhooks
    }

    package func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy { .inMemory(maximum: 0) }

    package func respond(to request: HTTPRequest) -> HTTPResponse {
        guard ["GET", "HEAD"].contains(request.head.method) else {
            var response = HTTPResponse.error(
                CoalitionError(.methodNotAllowed, "\(request.head.path) answers GET and HEAD")
            )
            response.headers.add("Allow", "GET, HEAD")
            return response
        }
        var response = request.head.path == "/ready" ? readiness() : exposition()
        response.headers.add("Cache-Control", "no-store")
        return response
    }

    /// Ready when a job runs on the writer and the store answers a read in it.
    func readiness() -> HTTPResponse {
        do {
            try writer.perform { ledger in _ = try ledger.store.posting(seq: ledger.state.lastSeq) }
            return .json(status: 200, Readiness(status: "ready", reason: nil))
        } catch {
            let code = (error as? CoalitionError)?.code ?? .storeFailure
            // A standby is healthy but not the writer: a load balancer sends it no writes.
            let status = code == .standby ? "standby" : "not ready"
            return .json(status: 503, Readiness(status: status, reason: code.rawValue))
        }
    }

    /// Every family: requests, the writer, and the ledger's figures when the writer could
    /// read them (`coalition_ledger_up` says whether it could).
    func exposition() -> HTTPResponse {
        var text = MetricsText()
        metrics.write(into: &text)
        writeWriter(into: &text)
        let figures = try? writer.perform { [referralTally] ledger in
            var figures = try LedgerFigures(ledger: ledger)
            figures.referrals = try referralTally.figures(ledger)
            return figures
        }
        text.family("coalition_ledger_up", type: "gauge", help: "1 if the ledger's figures below could be read.")
        text.sample("coalition_ledger_up", figures == nil ? 0 : 1)
        figures?.write(into: &text)
        webhooks?.write(into: &text)
        return HTTPResponse(
            status: 200,
            headers: HTTPHeaders([("Content-Type", MetricsText.contentType)]),
            body: .bytes(Array(text.text.utf8))
        )
    }

    func writeWriter(into text: inout MetricsText) {
        text.family("coalition_writer_queue_jobs", type: "gauge", help: "Jobs waiting for the ledger writer.")
        text.sample("coalition_writer_queue_jobs", Int64(writer.waiting))
        text.family("coalition_writer_queue_capacity", type: "gauge", help: "Jobs the writer's queue holds at most.")
        text.sample("coalition_writer_queue_capacity", Int64(writer.capacity))
        let statistics = writer.statistics
        let name = "coalition_writer_turn_jobs"
        text.family(name, type: "histogram", help: "Jobs the ledger writer took together in one turn.")
        var cumulative: Int64 = 0
        for (index, bound) in WriterStatistics.sizeBuckets.enumerated() {
            cumulative += statistics.turnsBySize[index]
            text.sample(name + "_bucket", [("le", String(bound))], cumulative)
        }
        text.sample(name + "_bucket", [("le", "+Inf")], statistics.turns)
        text.sample(name + "_sum", statistics.jobs)
        text.sample(name + "_count", statistics.turns)
    }
}
