import CoalitionFiles
import CoalitionKit
import CoalitionSQLite
import Foundation
import Testing

/// The settlement commands end to end: the built `coalition` binary, its exit codes, what it
/// prints and the files it writes.
@Suite("Settlement: the coalition command")
struct SettlementCommandTests {
    @Test("demo, then ingest of an empty inbox")
    func demoThenEmptyInbox() throws {
        let cli = try SettlementCommandRunner()
        let demo = try cli.coalition(
            "demo",
            "--partners",
            SettlementCommandRunner.partners,
            "--seeds",
            SettlementCommandRunner.seeds
        )
        #expect(demo.status == 0, "\(demo)")
        #expect(demo.stdout.contains("22 files accepted"), "\(demo)")
        #expect(demo.stdout.contains("duplicate of batch 1"), "\(demo)")
        #expect(demo.stdout.contains("REJECTED BAD_SIGNATURE"), "\(demo)")
        #expect(demo.stdout.contains("audit: OK"), "\(demo)")
        #expect(try cli.names("inbox") == [])
        let archived = try cli.names("archive")

        let ingest = try cli.coalition("ingest")
        #expect(ingest.status == 0, "\(ingest)")
        #expect(ingest.stdout == "inbox is empty\n", "\(ingest)")
        #expect(ingest.stderr == "")
        #expect(try cli.names("archive") == archived)
    }

    @Test("submit of a damaged file: exit 1, filed under rejected/ with its reason, answered")
    func submitDamaged() throws {
        let cli = try SettlementCommandRunner()
        try cli.initialize()
        let good = cli.directory + "/SKYWAYS-000001.csf"
        var bytes = try SettlementCommandFiles.skyways(
            sequence: 1,
            key: try SettlementCommandFiles.demoKey("SKYWAYS-2026A"),
            to: good
        )
        bytes = try cli.bytes(good)
        // One digit of the first EARN's amount changed, the signature left as it was.
        let text = String(decoding: bytes, as: UTF8.self)
        let amount = try #require(text.range(of: "|1001|"))
        var damagedBytes = bytes
        damagedBytes[text.utf8.distance(from: text.utf8.startIndex, to: amount.lowerBound) + 1] = UInt8(ascii: "2")
        let damaged = try cli.write(damagedBytes, "damaged.csf")

        let submit = try cli.coalition("submit", damaged)
        #expect(submit.status == 1, "\(submit)")
        #expect(submit.stdout.contains("damaged.csf: REJECTED BAD_SIGNATURE"), "\(submit)")
        #expect(try cli.names("rejected") == ["damaged.csf", "damaged.csf.reason"])
        #expect(try cli.bytes(cli.data + "/rejected/damaged.csf") == damagedBytes)
        let reason = try String(contentsOfFile: cli.data + "/rejected/damaged.csf.reason", encoding: .utf8)
        #expect(reason.contains("code: BAD_SIGNATURE"), "\(reason)")
        #expect(try cli.names("archive") == [])
        let outbox = try cli.names("outbox")
        try #require(outbox.count == 1, "\(outbox)")
        #expect(outbox[0].hasPrefix("SKYWAYS-000001-rejected-") && outbox[0].hasSuffix(".ack"), "\(outbox)")
        let ack = cli.data + "/outbox/" + outbox[0]
        let ackText = try String(contentsOfFile: ack, encoding: .utf8)
        #expect(ackText.contains("\nF|BAD_SIGNATURE|"), "\(ackText)")
        let verify = try cli.run(["verify", ack, "--key", SettlementCommandFiles.demoKeyPath("SKYWAYS-2026A")])
        #expect(verify.status == 0, "\(verify)")
        // Nothing was applied.
        let store = try SQLiteStore(path: cli.data + "/ledger.sqlite")
        #expect(try store.load().records.isEmpty)
        #expect(try store.lastSequence(partner: PartnerID("SKYWAYS")) == 0)

        // The file as signed goes through with the same batch number; sent again, a duplicate.
        let accepted = try cli.coalition("submit", good)
        #expect(accepted.status == 0, "\(accepted)")
        #expect(accepted.stdout.contains("SKYWAYS-000001.csf: accepted, 3 records: 3 applied, 0 rejected"))
        #expect(try cli.names("archive") == ["SKYWAYS-000001.csf"])
        let again = try cli.coalition("submit", good)
        #expect(again.status == 0, "\(again)")
        #expect(again.stdout.contains("duplicate of batch 1"), "\(again)")
        // The same bytes are archived once (issue 20: filing is idempotent, as after a crash).
        #expect(try cli.names("archive") == ["SKYWAYS-000001.csf"])
        // A new connection: the first one may still hold its old read snapshot.
        #expect(try SQLiteStore(path: cli.data + "/ledger.sqlite").load().records.count == 3)
    }

    @Test("ingest takes the inbox in created-at order, files every file, and exits 1 for a rejection")
    func ingestInbox() throws {
        let cli = try SettlementCommandRunner()
        try cli.initialize()
        let key = try SettlementCommandFiles.demoKey("SKYWAYS-2026A")
        let now = SettlementCommandFiles.now
        // Named against their order: only created-at puts batch 1 first.
        let inbox = cli.data + "/inbox/"
        try SettlementCommandFiles.skyways(
            sequence: 1,
            key: key,
            createdAt: now.adding(seconds: -120),
            to: inbox + "z-first.csf"
        )
        let second = try SettlementCommandFiles.skyways(
            sequence: 2,
            key: key,
            createdAt: now.adding(seconds: -60),
            to: cli.directory + "/second.csf",
            firstRecord: 10
        )
        #expect(second.count == 32)
        try FileManager.default.moveItem(atPath: cli.directory + "/second.csf", toPath: inbox + "a-second.csf")
        _ = try cli.write(Array("H|COALITION-SETTLEMENT|1|P2C|SKYWAYS|3|".utf8), "broken.csf")
        try FileManager.default.moveItem(atPath: cli.directory + "/broken.csf", toPath: inbox + "m-broken.csf")

        let ingest = try cli.coalition("ingest")
        #expect(ingest.status == 1, "\(ingest)")
        #expect(ingest.stdout.contains("z-first.csf: accepted"), "\(ingest)")
        #expect(ingest.stdout.contains("a-second.csf: accepted"), "\(ingest)")
        #expect(ingest.stdout.contains("m-broken.csf: REJECTED"), "\(ingest)")
        #expect(try cli.names("inbox") == [])
        #expect(try cli.names("archive") == ["a-second.csf", "z-first.csf"])
        #expect(try cli.names("rejected") == ["m-broken.csf", "m-broken.csf.reason"])
        #expect(try cli.names("outbox") == ["SKYWAYS-000001.ack", "SKYWAYS-000002.ack"])

        let again = try cli.coalition("ingest")
        #expect(again.status == 0, "\(again)")
        #expect(again.stdout == "inbox is empty\n")
    }

    @Test("sign, then verify --any --key: the round trip a partner makes")
    func signVerifyRoundTrip() throws {
        let cli = try SettlementCommandRunner()
        let key = SettlementCommandFiles.demoKeyPath("SKYWAYS-2026A")
        let createdAt = try Timestamp(parsing: "2026-11-20T06:00:00Z")
        let path = cli.directory + "/batch.csf"
        try SettlementCommandFiles.skyways(sequence: 4, key: nil, createdAt: createdAt, to: path)
        let signed = cli.directory + "/signed.csf"
        let signature = try SettlementCommandFiles.skyways(
            sequence: 4,
            key: try SettlementCommandFiles.demoKey("SKYWAYS-2026A"),
            createdAt: createdAt,
            to: signed
        )

        let sign = try cli.run(["sign", path, "--key", key])
        #expect(sign.status == 0, "\(sign)")
        #expect(sign.stdout == "signed \(path): S|\(Hex.encode(signature))\n")
        #expect(try cli.bytes(path) == cli.bytes(signed))

        let verify = try cli.run(["verify", path, "--any", "--key", key])
        #expect(verify.status == 0, "\(verify)")
        #expect(verify.stdout.contains("signature valid: COALITION-SETTLEMENT P2C for SKYWAYS, number 4"), "\(verify)")

        // Not an answer of the coalition, so not without --any; not under another key.
        let notAnAnswer = try cli.run(["verify", path, "--key", key])
        #expect(notAnAnswer.status == 3, "\(notAnAnswer)")
        #expect(notAnAnswer.stderr.contains("WRONG_DIRECTION"), "\(notAnAnswer)")
        let otherKey = try cli.run([
            "verify", path, "--any", "--key", SettlementCommandFiles.demoKeyPath("HARBOR-2026A"),
        ])
        #expect(otherKey.status == 3, "\(otherKey)")
        #expect(otherKey.stderr.contains("KEY_MISMATCH"), "\(otherKey)")
        // Signing a signed file is refused and leaves it alone.
        let twice = try cli.run(["sign", path, "--key", key])
        #expect(twice.status == 3, "\(twice)")
        #expect(try cli.bytes(path) == cli.bytes(signed))
    }

    @Test("verify of a tampered acknowledgement exits 3 with BAD_SIGNATURE")
    func tamperedAcknowledgement() throws {
        let cli = try SettlementCommandRunner()
        let file = try cli.initializedWithSkywaysFile()
        #expect(try cli.coalition("submit", file).status == 0)
        let ack = cli.data + "/outbox/SKYWAYS-000001.ack"
        let key = SettlementCommandFiles.demoKeyPath("SKYWAYS-2026A")
        #expect(try cli.run(["verify", ack, "--key", key]).status == 0)
        #expect(try cli.coalition("verify", ack).status == 0)

        var bytes = try cli.bytes(ack)
        let text = String(decoding: bytes, as: UTF8.self)
        let line = try #require(text.range(of: "\nA|CLI-1|500\n"))
        let offset = text.utf8.distance(from: text.utf8.startIndex, to: line.upperBound) - 2
        bytes[offset] = UInt8(ascii: "1")  // A|CLI-1|501
        let tampered = try cli.write(bytes, "tampered.ack")
        for result in [
            try cli.run(["verify", tampered, "--key", key]),
            try cli.coalition("verify", tampered),
        ] {
            #expect(result.status == 3, "\(result)")
            #expect(result.stderr.contains("BAD_SIGNATURE"), "\(result)")
            #expect(!result.stdout.contains("signature valid"), "\(result)")
        }
    }

    @Test("keys rotate prints a new key once, stores it owner-only, and submit accepts it")
    func keysRotate() throws {
        let cli = try SettlementCommandRunner()
        try cli.initialize()
        let rotate = try cli.coalition("keys", "rotate", "--partner", "SKYWAYS")
        #expect(rotate.status == 0, "\(rotate)")
        let words = rotate.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        let keyIndex = try #require(words.firstIndex(of: "key"), "\(rotate)")
        let keyID = words[keyIndex + 1]
        #expect(keyID.hasPrefix("SKYWAYS-"))
        let secretHex = try #require(words.last, "\(rotate)")
        let secret = try #require(Hex.decode(secretHex.utf8), "\(rotate)")
        #expect(secret.count == 32)
        #expect(rotate.stdout.components(separatedBy: secretHex).count == 2, "printed once")
        #expect(!rotate.stderr.contains(secretHex))

        let keyFile = cli.data + "/keys/\(keyID).key"
        let attributes = try FileManager.default.attributesOfItem(atPath: keyFile)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(try KeyFile.read(keyFile) == secret)
        let network = try NetworkLoader.load(directory: cli.data + "/network")
        let keys = try network.partner(PartnerID("SKYWAYS")).keys
        #expect(keys.contains { $0.id == keyID && $0.validUntil == nil })
        #expect(keys.first { $0.id == "SKYWAYS-2026A" }?.validUntil != nil, "the old key retires after the overlap")

        // A file signed with the new key, made after the rotation.
        let file = cli.directory + "/SKYWAYS-000001.csf"
        try SettlementCommandFiles.skyways(
            sequence: 1,
            keyID: keyID,
            key: secret,
            createdAt: SettlementCommandFiles.now,
            to: file
        )
        let submit = try cli.coalition("submit", file)
        #expect(submit.status == 0, "\(submit)")
        #expect(submit.stdout.contains("accepted, 3 records: 3 applied"), "\(submit)")
        // The answer is signed with the new key, which the partner holds.
        let partnerKey = cli.directory + "/partner.key"
        try KeyFile.write(secret, to: partnerKey, comment: "as handed to SKYWAYS")
        let verify = try cli.run([
            "verify", cli.data + "/outbox/SKYWAYS-000001.ack", "--key", partnerKey, "--key-id", keyID,
        ])
        #expect(verify.status == 0, "\(verify)")
        #expect(verify.stdout.contains("key \(keyID)"), "\(verify)")
    }
}
