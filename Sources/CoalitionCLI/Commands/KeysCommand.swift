import CoalitionFiles
import CoalitionKit
import Foundation

struct KeysRotateCommand: Command {
    static let path = ["keys", "rotate"]
    static let summary = "make a new random key for a partner and retire its current ones after an overlap"
    static let synopsis = "--partner ID"
    static let options: [OptionSpec] = [
        .value("partner", "ID", "the partner whose key ring rotates"),
        .value("overlap-days", "N", "days the old keys stay valid beside the new one (default 30)"),
        waitOption,
    ]
    static let discussion = """
        Draws 32 bytes from OpenSSL's RAND_bytes, stores them in DIR/keys/<key id>.key readable by
        the owner only, adds the key to the partner's key ring (valid from now), and ends the
        validity of the partner's open-ended keys after the overlap, so files signed with either
        key are accepted meanwhile. Prints the new key once: hand it to the partner over a
        secure channel.
        """

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        guard let partnerText = context.arguments.value("partner") else {
            throw CoalitionError(.usage, "--partner ID is required\nusage: \(usage)")
        }
        let overlap = try context.arguments.integer("overlap-days", default: 30, in: 0...3650)
        let ledger = try context.openForWriting()
        let partner = try ledger.network.partner(named: partnerText)
        let partnerID = partner.id
        let now = Clock.now
        let network = context.data.networkPath
        guard
            let file = try FileManager.default.contentsOfDirectory(atPath: network).sorted().first(where: { name in
                guard name.hasSuffix(".json"), name != NetworkLoader.networkFile,
                    let data = FileManager.default.contents(atPath: network + "/" + name),
                    let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
                else { return false }
                return object["id"] as? String == partnerID.rawValue
            })
        else { throw CoalitionError(.badConfig, "no file for \(partnerID) in \(network)") }
        let path = network + "/" + file
        var object =
            try JSONSerialization.jsonObject(with: FileManager.default.contents(atPath: path)!) as! [String: Any]
        let stamp = now.description.filter { $0.isNumber }.prefix(12)
        var keyID = "\(partnerID)-\(stamp)"
        var suffix = 1
        // A key file no partner's ring names was left by a rotation that died before its
        // ring was written (the secret was never shown): it is replaced. A named one never is.
        let named = Set(ledger.network.partners.values.flatMap { $0.keys.map(\.id) })
        while partner.keys.contains(where: { $0.id == keyID }) {
            suffix += 1
            keyID = "\(partnerID)-\(stamp)-\(suffix)"
        }
        let secret = try secureRandomBytes(32)
        let keyPath = context.data.keysPath + "/\(keyID).key"
        if !named.contains(keyID) { unlink(keyPath) }
        try KeyFile.write(secret, to: keyPath, comment: "key \(keyID) of \(partnerID)")
        try Failpoint.reach("keys.after-secret")
        let retireAt = now.adding(days: Int64(overlap))
        var keys = object["keys"] as? [[String: Any]] ?? []
        for index in keys.indices where keys[index]["validUntil"] == nil {
            keys[index]["validUntil"] = retireAt.description
        }
        keys.append(["id": keyID, "validFrom": now.description, "file": "keys/\(keyID).key"])
        object["keys"] = keys
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        // 0644 whatever the umask (FileIntake.writeAtomically sets the mode on the descriptor),
        // and rename(2) replaces the old file atomically. (Foundation's replaceItemAt fails on
        // Linux here after removing the old file, which lost the partner's definition.)
        try FileIntake.writeAtomically(data, to: path)
        _ = try NetworkLoader.load(directory: network)
        if context.json {
            Output.json(
                RotatedKey(
                    partner: partnerID.rawValue,
                    key: keyID,
                    secret: Hex.encode(secret),
                    oldKeysValidUntil: retireAt.description
                )
            )
        } else {
            Output.line("New key \(keyID) for \(partnerID), valid from \(now); older keys valid until \(retireAt).")
            Output.line("Secret (shown once, give it to the partner securely): \(Hex.encode(secret))")
        }
        return .success
    }
}

/// What `keys rotate --json` prints: the new key, its secret shown once, and when the
/// partner's older keys stop being valid.
struct RotatedKey: Encodable {
    let partner: String
    let key: String
    let secret: String
    let oldKeysValidUntil: String
}
