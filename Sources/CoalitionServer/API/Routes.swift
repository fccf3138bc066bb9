/// The partner API's routes: the one table the responder dispatches on and the OpenAPI
/// description (`docs/openapi.json`) is checked against.
public struct Route: Sendable, Hashable {
    /// What a route does.
    enum Endpoint: Sendable, Hashable {
        case deliverSettlementFile
        case acknowledgement
        case statements
        case statement
    }

    public let method: String
    /// The path with `{name}` for a parameter segment, as OpenAPI writes it.
    public let path: String
    let endpoint: Endpoint

    /// Every route, in the order `docs/api.md` lists them.
    public static let all: [Route] = [
        Route(method: "POST", path: "/v1/settlement-files", endpoint: .deliverSettlementFile),
        Route(method: "GET", path: "/v1/acknowledgements/{sequence}", endpoint: .acknowledgement),
        Route(method: "GET", path: "/v1/statements", endpoint: .statements),
        Route(method: "GET", path: "/v1/statements/{cycle}", endpoint: .statement),
    ]

    /// The parameters of `path` if it has this route's shape: literal segments equal, each
    /// `{name}` segment a non-empty segment. Nil when the shape differs.
    func parameters(of path: String) -> [String: String]? {
        let pattern = self.path.split(separator: "/", omittingEmptySubsequences: false)
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        guard pattern.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (expected, segment) in zip(pattern, segments) {
            if expected.first == "{" && expected.last == "}" {
                guard !segment.isEmpty else { return nil }
                parameters[String(expected.dropFirst().dropLast())] = String(segment)
            } else if expected != segment {
                return nil
            }
        }
        return parameters
    }

    /// The route for `method` and `path` and its parameters: 404 when no route has the
    /// path, 405 (with the methods it takes) when none takes the method.
    static func match(method: String, path: String) throws(APIError) -> (Route, [String: String]) {
        var allowed: [String] = []
        for route in all {
            guard let parameters = route.parameters(of: path) else { continue }
            if route.method == method { return (route, parameters) }
            allowed.append(route.method)
        }
        throw allowed.isEmpty ? APIError.notFound : APIError.methodNotAllowed(allowed: allowed)
    }

    /// A sequence or cycle number in a path: 1 to 18 ASCII digits, not starting with 0.
    static func number(_ text: String?) throws(APIError) -> Int64 {
        guard let text, (1...18).contains(text.utf8.count), text.utf8.first != UInt8(ascii: "0"),
            text.utf8.allSatisfy({ (48...57).contains($0) }), let value = Int64(text)
        else { throw APIError.notFound }
        return value
    }
}
