import CoalitionKit

/// Every route the server has, composed: its own `GET /health` (200 with
/// `{"status": "ok"}`; another method 405 `METHOD_NOT_ALLOWED`), and the partner API for
/// every path under `/v1/`, and the operations endpoints (`/metrics`, `/ready`) when given.
/// The member API under `/member/api/`, the member pages under `/member/` and the operator
/// pages under `/operator/` when given. Any other path is 404 `NOT_FOUND`. Bodies of the server's own
/// routes are taken in memory, at most 64 KiB; the partner API decides for its own.
package struct ServerResponder: HTTPResponder {
    struct Health: Encodable {
        let status: String
    }

    package static let maximumBody = 65536

    /// What answers under `/v1/`, if the server has a ledger to serve.
    let partnerAPI: (any HTTPResponder)?
    /// What answers `/metrics` and `/ready`.
    let operations: (any HTTPResponder)?

    /// What answers under `/member/api/`.
    let members: (any HTTPResponder)?
    /// What answers every other path under `/member/`: the member's pages.
    let memberPages: (any HTTPResponder)?

    /// What answers under `/operator/`: the operator's pages.
    let operatorPages: (any HTTPResponder)?

    package init(
        partnerAPI: (any HTTPResponder)? = nil,
        operations: (any HTTPResponder)? = nil,
        members: (any HTTPResponder)? = nil,
        memberPages: (any HTTPResponder)? = nil,
        operatorPages: (any HTTPResponder)? = nil
    ) {
        self.operatorPages = operatorPages
        self.memberPages = memberPages
        self.partnerAPI = partnerAPI
        self.operations = operations
        self.members = members
    }

    /// The responder for a path under `/v1/` or an operations path, if there is one.
    func api(for path: String) -> (any HTTPResponder)? {
        if OperationsEndpoints.paths.contains(path) { return operations }
        if path.hasPrefix(MemberAPI.prefix) { return members }
        if path == "/member" || path.hasPrefix("/member/") { return memberPages }
        if path == "/operator" || path.hasPrefix("/operator/") { return operatorPages }
        return path.hasPrefix("/v1/") ? partnerAPI : nil
    }

    package func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy {
        api(for: head.path)?.bodyPolicy(for: head) ?? .inMemory(maximum: Self.maximumBody)
    }

    package func respond(to request: HTTPRequest) -> HTTPResponse {
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
