/// The partner API's routes: the one table the responder dispatches on and the OpenAPI
/// description (`docs/openapi.json`) is checked against.
package struct Route: Sendable, Hashable {
    /// What a route does.
    enum Endpoint: Sendable, Hashable {
        case deliverSettlementFile
        case acknowledgement
        case statements
        case statement
        case submitRecord
        case member
    }

    package let method: String
    /// The path with `{name}` for a parameter segment, as OpenAPI writes it.
    package let path: String
    let endpoint: Endpoint

    /// Every route, in the order `docs/api.md` lists them.
    package static let all: [Route] = [
        Route(method: "POST", path: "/v1/settlement-files", endpoint: .deliverSettlementFile),
        Route(method: "GET", path: "/v1/acknowledgements/{sequence}", endpoint: .acknowledgement),
        Route(method: "GET", path: "/v1/statements", endpoint: .statements),
        Route(method: "GET", path: "/v1/statements/{cycle}", endpoint: .statement),
        Route(method: "POST", path: "/v1/records", endpoint: .submitRecord),
        Route(method: "GET", path: "/v1/members/{number}", endpoint: .member),
    ]

    /// The parameters of `path` if it has this route's shape: literal segments equal, each
    /// `{name}` segment a non-empty segment. Nil when the shape differs.
    /// Walks both paths segment by segment over their UTF-8 bytes: it runs for several
    /// routes on every request, so it makes no arrays of segments.
    func parameters(of path: String) -> [String: String]? {
        let slash = UInt8(ascii: "/")
        var parameters: [String: String] = [:]
        var pattern = self.path.utf8[...]
        var rest = path.utf8[...]
        while true {
            let patternEnd = pattern.firstIndex(of: slash) ?? pattern.endIndex
            let restEnd = rest.firstIndex(of: slash) ?? rest.endIndex
            let expected = pattern[..<patternEnd]
            let segment = rest[..<restEnd]
            if expected.first == UInt8(ascii: "{") && expected.last == UInt8(ascii: "}") {
                guard !segment.isEmpty else { return nil }
                parameters[String(Substring(expected.dropFirst().dropLast()))] = String(Substring(segment))
            } else if !expected.elementsEqual(segment) {
                return nil
            }
            let patternDone = patternEnd == pattern.endIndex
            let restDone = restEnd == rest.endIndex
            if patternDone || restDone { return patternDone && restDone ? parameters : nil }
            pattern = pattern[pattern.index(after: patternEnd)...]
            rest = rest[rest.index(after: restEnd)...]
        }
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
