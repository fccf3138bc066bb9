import CoalitionKit
import Foundation
import Testing

@Suite("coalition operator token create|list|revoke")
struct OperatorTokenCommandTests {
    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test("a token is printed once, listed by id without itself, kept as a hash, revoked")
    func tokens() throws {
        let work = try WorkDirectory()
        defer { work.remove() }
        let data = work.file("data")
        let made = try work.coalition("operator", "token", "create", "night shift", "--json", data: data)
        #expect(made.status == 0, "\(made)")
        let object = try json(made.stdout)
        let token = try #require(object["token"] as? String)
        let id = try #require(object["id"] as? String)
        #expect(token.hasPrefix("coalop_") && token.count == 71)
        let stored = try String(contentsOfFile: work.file("data", "access", "operators.json"), encoding: .utf8)
        #expect(!stored.contains(token))
        #expect(stored.contains(Hex.encode(SHA256.hash(Array(token.utf8)))))

        let listed = try work.coalition("operator", "token", "list", "--json", data: data)
        #expect(listed.status == 0 && !listed.stdout.contains(token))
        let tokens = try #require(try json(listed.stdout)["tokens"] as? [[String: Any]])
        #expect(tokens.map { $0["id"] as? String } == [id])
        #expect(tokens.first?["name"] as? String == "night shift" && tokens.first?["revoked"] == nil)

        #expect(try work.coalition("operator", "token", "revoke", id, data: data).status == 0)
        let after = try json(try work.coalition("operator", "token", "list", "--json", data: data).stdout)
        #expect((after["tokens"] as? [[String: Any]])?.first?["revoked"] is String)
        let unknown = try work.coalition("operator", "token", "revoke", "op-00000000", data: data)
        #expect(unknown.status == 3)
        #expect(unknown.stderr.contains("UNKNOWN_OPERATOR_TOKEN"))
        #expect(try work.coalition("operator", "token", "create", "bad/name", data: data).status == 2)
    }
}
