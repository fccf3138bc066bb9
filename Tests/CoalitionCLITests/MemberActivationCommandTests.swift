import CoalitionFiles
import CoalitionKit
import CoalitionSQLite
import Foundation
import Testing

@Suite("coalition member activation-code")
struct MemberActivationCommandTests {
    @Test("issues a code for an enrolled member, keeps only its hash, refuses an unknown member")
    func issuesCodes() throws {
        let work = try WorkDirectory()
        defer { work.remove() }
        let data = work.file("data")
        try work.demo(data: data)
        let ledgerMember = try #require(try firstMember(data))
        let issued = try work.coalition("member", "activation-code", ledgerMember, "--json", data: data)
        #expect(issued.status == 0, "\(issued)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(issued.stdout.utf8)) as? [String: Any])
        let code = try #require(object["code"] as? String)
        #expect(code.count == 19 && code.split(separator: "-").count == 4)
        let stored = try String(contentsOfFile: work.file("data", "access", "members.json"), encoding: .utf8)
        #expect(!stored.contains(code))
        #expect(stored.contains(Hex.encode(SHA256.hash(Array(code.replacingOccurrences(of: "-", with: "").utf8)))))
        let unknown = try work.coalition("member", "activation-code", "6001999999990", data: data)
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("UNKNOWN_MEMBER"))
    }

    /// The lowest member number the demo enrolled, read from its ledger.
    func firstMember(_ data: String) throws -> String? {
        let network = try NetworkLoader.load(directory: (data as NSString).appendingPathComponent("network"))
        let store = try SQLiteStore(path: (data as NSString).appendingPathComponent("ledger.sqlite"))
        return try Ledger(network: network, store: store).state.members.keys.min()?.description
    }
}
