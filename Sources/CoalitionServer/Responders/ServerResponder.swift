import CoalitionKit

/// The server's own routes, until the partner API is composed in: `GET /health` answers
/// 200 with `{"status": "ok"}`; every other path 404 `NOT_FOUND`, another method on
/// `/health` 405 `METHOD_NOT_ALLOWED`. Bodies are taken in memory, at most 64 KiB.
public struct ServerResponder: HTTPResponder {
    struct Health: Encodable {
        let status: String
    }

    public static let maximumBody = 65536

    public init() {}

    public func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy {
        .inMemory(maximum: Self.maximumBody)
    }

    public func respond(to request: HTTPRequest) -> HTTPResponse {
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
