import CoalitionFiles
import CoalitionKit
import CoalitionServer
import CoalitionTestSupport
import Foundation
import Testing

@Suite("docs/api.md and docs/openapi.json agree with the server")
struct APIDocumentTests {
    /// The fenced block after `<!-- marker -->` in docs/api.md, without its last LF.
    static func block(_ marker: String) throws -> String {
        let text = try String(contentsOfFile: PackagePaths.apiDocument, encoding: .utf8)
        let start = try #require(text.range(of: "<!-- \(marker) -->\n```\n"), "no block \(marker) in docs/api.md")
        let rest = text[start.upperBound...]
        let end = try #require(rest.range(of: "\n```"), "block \(marker) does not end")
        return String(rest[..<end.lowerBound])
    }

    /// The worked example: the canonical string the signer makes for the request the page
    /// describes, and its signature under the demo key, are the page's bytes.
    @Test func theWorkedExampleIsWhatTheSignerMakes() throws {
        let key = try #require(Hex.decode(try Self.block("api-demo-key").utf8))
        #expect(key == (try KeyFile.read(PackagePaths.partners + "/keys/SKYWAYS-2026A.key")))
        let time = APITime.at("2026-11-22T10:15:00Z")
        let canonical = CanonicalRequest(
            method: "GET",
            target: "/v1/acknowledgements/7",
            timestamp: time,
            partner: try PartnerID("SKYWAYS"),
            keyID: "SKYWAYS-2026A",
            bodyDigest: CanonicalRequest.digest(of: [])
        )
        #expect(canonical.string == (try Self.block("api-canonical")))
        let signature = try Self.block("api-signature")
        #expect(Hex.encode(try canonical.signature(using: key)) == signature)
        let signer = RequestSigner(partner: try PartnerID("SKYWAYS"), keyID: "SKYWAYS-2026A", secret: key)
        let request = try signer.request(method: "GET", target: "/v1/acknowledgements/7", at: time)
        #expect(request.head.headers["Coalition-Signature"] == signature)
        #expect(request.head.headers["Coalition-Timestamp"] == "2026-11-22T10:15:00Z")
    }

    /// Every documented path and method is routed, and every route is documented.
    @Test func theOpenAPIDescriptionListsExactlyTheRoutes() throws {
        let data = try #require(FileManager.default.contents(atPath: PackagePaths.openAPI))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["openapi"] as? String == "3.1.0")
        let paths = try #require(object["paths"] as? [String: [String: Any]])
        let methods: Set<String> = ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
        var documented: Set<String> = []
        for (path, item) in paths {
            for method in item.keys where methods.contains(method) {
                documented.insert("\(method.uppercased()) \(path)")
            }
        }
        let memberRoutes = MemberAPI.routes.flatMap { name, methods in
            methods.map { "\($0) \(MemberAPI.prefix)\(name)" }
        }
        let routed = Set(Route.all.map { "\($0.method) \($0.path)" } + memberRoutes)
        #expect(documented.subtracting(routed).isEmpty, "documented, not routed")
        #expect(routed.subtracting(documented).isEmpty, "routed, not documented")
        #expect(!routed.isEmpty)
    }

    /// Every code the API answers with is in docs/api.md and docs/reason-codes.md.
    @Test(arguments: [
        ReasonCode.authenticationMissing, .authenticationStale, .authenticationFailed, .forbidden, .notFound,
        .methodNotAllowed, .writerBusy, .shuttingDown, .internalError,
    ])
    func everyAPICodeIsDocumented(code: ReasonCode) throws {
        let api = try String(contentsOfFile: PackagePaths.apiDocument, encoding: .utf8)
        let codes = try String(contentsOfFile: PackagePaths.root + "/docs/reason-codes.md", encoding: .utf8)
        #expect(api.contains("`\(code.rawValue)`"))
        #expect(codes.contains("`\(code.rawValue)`"))
    }
}
