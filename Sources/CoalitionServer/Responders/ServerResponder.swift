import CoalitionKit

/// Every route the server has, composed: its own `GET /health` (200 with
/// `{"status": "ok"}`; another method 405 `METHOD_NOT_ALLOWED`), and the partner API for
/// every path under `/v1/`. Any other path is 404 `NOT_FOUND`. Bodies of the server's own
/// routes are taken in memory, at most 64 KiB; the partner API decides for its own.
public struct ServerResponder: HTTPResponder {
    struct Health: Encodable {
        let status: String
    }

    public static let maximumBody = 65536

    /// What answers under `/v1/`, if the server has a ledger to serve.
    let partnerAPI: (any HTTPResponder)?

    public init(partnerAPI: (any HTTPResponder)? = nil) {
        self.partnerAPI = partnerAPI
    }

    /// The responder for a path under `/v1/`, if there is one.
    func api(for path: String) -> (any HTTPResponder)? {
        path.hasPrefix("/v1/") ? partnerAPI : nil
    }

    public func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy {
        api(for: head.path)?.bodyPolicy(for: head) ?? .inMemory(maximum: Self.maximumBody)
    }

    public func respond(to request: HTTPRequest) -> HTTPResponse {
        if let api = api(for: request.head.path) { return api.respond(to: request) }
        guard request.head.path == "/health" else {
            return .error(CoalitionError(.notFound, "no such resource"))
        }
        guard ["GET", "HEAD"].contains(request.head.method) else {
            var response = HTTPResponse.error(CoalitionError(.methodNotAllowed, "/health answers GET and HEAD"))
            response.headers.add("Allow", "GET, HEAD")
            return response
        }
        var response = HTTPResponse.json(status: 200, Health(status: "ok"))
        response.headers.add("Cache-Control", "no-store")
        return response
    }
}
