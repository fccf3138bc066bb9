import CoalitionFiles
import CoalitionKit
import Foundation
import Testing

/// The key a file is signed or checked under is the key its header names; a compromised key
/// is revoked at once.
@Suite("Settlement: sign, verify and keys revoke hold to the header's key")
struct KeyCommandTests {
    @Test("sign refuses a key file that is not the header's key, and leaves the file alone")
    func signRefusesAnotherKey() throws {
        let cli = try SettlementCommandRunner()
        let path = cli.directory + "/batch.csf"
        try SettlementCommandFiles.skyways(sequence: 1, key: nil, to: path)
        let before = try cli.bytes(path)
        for key in ["HARBOR-2026A", "SKYWAYS-2025A"] {
            let result = try cli.run(["sign", path, "--key", SettlementCommandFiles.demoKeyPath(key)])
            #expect(result.status == 3, "\(result)")
            #expect(result.stderr.contains("KEY_MISMATCH"), "\(result)")
            #expect(result.stderr.contains("SKYWAYS-2026A") && result.stderr.contains(key), "\(result)")
            #expect(try cli.bytes(path) == before)
        }
        let json = try cli.run(["sign", path, "--json", "--key", SettlementCommandFiles.demoKeyPath("HARBOR-2026A")])
        #expect(json.status == 3)
        let error = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(error?["code"] as? String == "KEY_MISMATCH", "\(json)")
        #expect((error?["place"] as? [String: Any])?["line"] as? Int == 1, "\(json)")
        // A key file named otherwise says its id with --key-id.
        let copy = cli.directory + "/mine.key"
        try KeyFile.write(try SettlementCommandFiles.demoKey("SKYWAYS-2026A"), to: copy, comment: "SKYWAYS")
        let named = try cli.run(["sign", path, "--key", copy, "--key-id", "SKYWAYS-2026A"])
        #expect(named.status == 0, "\(named)")
    }

    @Test("sign --rehead names the key file's key in the header first: the bytes a correct file has")
    func signRehead() throws {
        let cli = try SettlementCommandRunner()
        let createdAt = try Timestamp(parsing: "2026-11-20T06:00:00Z")
        let path = cli.directory + "/batch.csf"
        try SettlementCommandFiles.skyways(
            sequence: 4,
            keyID: "SKYWAYS-2025A",
            key: nil,
            createdAt: createdAt,
            to: path
        )
        let expected = cli.directory + "/expected.csf"
        try SettlementCommandFiles.skyways(
            sequence: 4,
            keyID: "SKYWAYS-2026A",
            key: try SettlementCommandFiles.demoKey("SKYWAYS-2026A"),
            createdAt: createdAt,
            to: expected
        )
        let key = SettlementCommandFiles.demoKeyPath("SKYWAYS-2026A")
        let result = try cli.run(["sign", path, "--key", key, "--rehead"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("SKYWAYS-2025A → SKYWAYS-2026A"), "\(result)")
        #expect(try cli.bytes(path) == cli.bytes(expected))
        #expect(!FileManager.default.fileExists(atPath: path + ".rehead"))
        let verify = try cli.run(["verify", path, "--any", "--key", key])
        #expect(verify.status == 0, "\(verify)")
        // A signed file is never re-headed: its signature would no longer hold.
        let signed = try cli.bytes(path)
        let again = try cli.run([
            "sign", path, "--key", SettlementCommandFiles.demoKeyPath("SKYWAYS-2025A"), "--rehead",
        ])
        #expect(again.status == 3, "\(again)")
        #expect(again.stderr.contains("already signed"), "\(again)")
        #expect(try cli.bytes(path) == signed)
    }

    @Test("verify --key names the key used and the file it came from, and refuses a key the header does not name")
    func verifyNamesTheKey() throws {
        let cli = try SettlementCommandRunner()
        let file = try cli.initializedWithSkywaysFile()
        #expect(try cli.coalition("submit", file).status == 0)
        let ack = cli.data + "/outbox/SKYWAYS-000001.ack"
        let right = SettlementCommandFiles.demoKeyPath("SKYWAYS-2026A")
        let verified = try cli.run(["verify", ack, "--key", right])
        #expect(verified.status == 0, "\(verified)")
        #expect(verified.stdout.contains("under key SKYWAYS-2026A from \(right)"), "\(verified)")
        let wrong = SettlementCommandFiles.demoKeyPath("HARBOR-2026A")
        let refused = try cli.run(["verify", ack, "--key", wrong])
        #expect(refused.status == 3, "\(refused)")
        #expect(refused.stderr.contains("KEY_MISMATCH"), "\(refused)")
        #expect(refused.stderr.contains("HARBOR-2026A") && refused.stderr.contains("SKYWAYS-2026A"), "\(refused)")
        #expect(!refused.stdout.contains("signature valid"), "\(refused)")
        let ring = try cli.coalition("verify", ack)
        #expect(ring.stdout.contains("under key SKYWAYS-2026A from the key ring"), "\(ring)")
    }

    @Test("keys revoke: at once, whatever a file's created-at; recorded and shown; not twice")
    func revoke() throws {
        let cli = try SettlementCommandRunner()
        try cli.initialize()
        let secret = try SettlementCommandFiles.demoKey("SKYWAYS-2026A")
        let first = cli.directory + "/SKYWAYS-000001.csf"
        try SettlementCommandFiles.skyways(sequence: 1, key: secret, to: first)
        #expect(try cli.coalition("submit", first).status == 0)

        let revoke = try cli.coalition(
            "keys",
            "revoke",
            "--partner",
            "skyways",
            "--key",
            "SKYWAYS-2026A",
            "--reason",
            "leaked in a ticket"
        )
        #expect(revoke.status == 3, "a partner id is upper case: \(revoke)")
        #expect(revoke.stderr.contains("Did you mean SKYWAYS?"), "\(revoke)")
        let revoked = try cli.coalition(
            "keys",
            "revoke",
            "--partner",
            "SKYWAYS",
            "--key",
            "SKYWAYS-2026A",
            "--reason",
            "leaked in a ticket",
            "--json"
        )
        #expect(revoked.status == 0, "\(revoked)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(revoked.stdout.utf8)) as? [String: Any])
        #expect(object["key"] as? String == "SKYWAYS-2026A")
        #expect(object["validKeysLeft"] as? [String] == [])

        // A file signed before the revocation, sent after it, is refused.
        let second = cli.directory + "/SKYWAYS-000002.csf"
        try SettlementCommandFiles.skyways(
            sequence: 2,
            key: secret,
            createdAt: SettlementCommandFiles.now.adding(seconds: -3600),
            to: second,
            firstRecord: 10
        )
        let submit = try cli.coalition("submit", second)
        #expect(submit.status == 1, "\(submit)")
        #expect(submit.stdout.contains("KEY_REVOKED"), "\(submit)")

        let shown = try cli.coalition("partners", "show", "SKYWAYS")
        #expect(shown.stdout.contains("SKYWAYS-2026A"), "\(shown)")
        #expect(shown.stdout.contains("REVOKED at"), "\(shown)")
        #expect(shown.stdout.contains("leaked in a ticket"), "\(shown)")
        let json = try cli.coalition("partners", "show", "SKYWAYS", "--json")
        let keys = try #require(
            (try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])?["keys"]
                as? [[String: Any]]
        )
        let key = try #require(keys.first { $0["id"] as? String == "SKYWAYS-2026A" })
        #expect(key["revocationReason"] as? String == "leaked in a ticket")
        #expect(key["validNow"] as? Bool == false)
        #expect(key["revokedAt"] is String)

        let again = try cli.coalition(
            "keys",
            "revoke",
            "--partner",
            "SKYWAYS",
            "--key",
            "SKYWAYS-2026A",
            "--reason",
            "again"
        )
        #expect(again.status == 3, "\(again)")
        #expect(again.stderr.contains("KEY_REVOKED"), "\(again)")
        let unknown = try cli.coalition(
            "keys",
            "revoke",
            "--partner",
            "SKYWAYS",
            "--key",
            "SKYWAYS-2026B",
            "--reason",
            "typo"
        )
        #expect(unknown.stderr.contains("Did you mean SKYWAYS-2026A?"), "\(unknown)")

        // A new key after the revocation: files under it are accepted again.
        let rotate = try cli.coalition("keys", "rotate", "--partner", "SKYWAYS", "--overlap-days", "0", "--json")
        #expect(rotate.status == 0, "\(rotate)")
        let rotated = try #require(try JSONSerialization.jsonObject(with: Data(rotate.stdout.utf8)) as? [String: Any])
        let newID = try #require(rotated["key"] as? String)
        let secretText = try #require(rotated["secret"] as? String)
        let newSecret = try #require(Hex.decode(secretText.utf8))
        let resent = cli.directory + "/SKYWAYS-000002b.csf"
        try SettlementCommandFiles.skyways(
            sequence: 2,
            keyID: newID,
            key: newSecret,
            createdAt: SettlementCommandFiles.now,
            to: resent,
            firstRecord: 10
        )
        let accepted = try cli.coalition("submit", resent)
        #expect(accepted.status == 0, "\(accepted)")
    }
}
