import CoalitionKit
import Foundation

/// Wraps the server's responder: gives each request an id (sent back as `X-Request-Id`),
/// times the answer, counts it in `RequestMetrics` and writes its line to the
/// `RequestLog`. The time is the responder's, from the whole request to the answer, not
/// the time the bytes took on the wire.
package struct ObservedResponder: HTTPResponder {
    let inner: any HTTPResponder
    let metrics: RequestMetrics
    let log: RequestLog?
    let now: @Sendable () -> Timestamp

    package init(
        _ inner: any HTTPResponder,
        metrics: RequestMetrics,
        log: RequestLog?,
        now: @escaping @Sendable () -> Timestamp
    ) {
        self.inner = inner
        self.metrics = metrics
        self.log = log
        self.now = now
    }

    package func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy { inner.bodyPolicy(for: head) }

    package func respond(to request: HTTPRequest) -> HTTPResponse {
        let started = DispatchTime.now().uptimeNanoseconds
        let requestID = Self.makeRequestID()
        let sink = LedgerEventSink(requestID: requestID, log: log, metrics: metrics, now: now)
        var response = LedgerEventSink.$current.withValue(sink) { inner.respond(to: request) }
        let elapsed = DispatchTime.now().uptimeNanoseconds &- started
        let nanoseconds = Int64(clamping: elapsed)
        let head = request.head
        let route = Self.route(of: head.path)
        response.headers.add("X-Request-Id", requestID)
        metrics.record(
            route: route,
            method: Self.method(head.method),
            status: response.status,
            nanoseconds: nanoseconds
        )
        log?.write(
            RequestLog.Line(
                time: now().description,
                requestID: requestID,
                method: Self.method(head.method),
                route: route,
                partner: head.headers[CanonicalRequest.Field.partner].flatMap { try? PartnerID($0).description },
                status: response.status,
                durationMicroseconds: nanoseconds / 1000
            )
        )
        return response
    }

    /// The route a path belongs to, as a template from a bounded set: the server's own
    /// paths, a partner API route, `/v1/*` for another path under `/v1/`, else `other`.
    static func route(of path: String) -> String {
        if path == "/health" || OperationsEndpoints.paths.contains(path) { return path }
        if path.hasPrefix("/v1/") {
            for route in Route.all where route.parameters(of: path) != nil { return route.path }
            return "/v1/*"
        }
        if path.hasPrefix(MemberAPI.prefix) {
            return MemberAPI.routes.keys.contains(String(path.dropFirst(MemberAPI.prefix.count)))
                ? path : "/member/api/*"
        }
        if MemberPages.pages[path] != nil || OperatorPages.pages[path] != nil { return path }
        if path.hasPrefix("/operator/cycles/") { return "/operator/cycles/{number}" }
        if path.hasPrefix("/operator/") { return "/operator/*" }
        return path.hasPrefix("/member/") ? "/member/*" : "other"
    }

    /// The method if it is one HTTP defines, else `OTHER`: a client cannot grow the labels.
    static func method(_ method: String) -> String {
        ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"].contains(method) ? method : "OTHER"
    }

    /// 16 random hex digits.
    static func makeRequestID() -> String {
        Hex.encode((try? secureRandomBytes(8)) ?? Array(repeating: 0, count: 8))
    }
}
