import CoalitionFiles
import CoalitionKit
import Foundation

struct KeysRevokeCommand: Command {
    static let path = ["keys", "revoke"]
    static let summary = "revoke a partner's key at once, as when it is compromised"
    static let synopsis = "--partner ID --key KEYID --reason TEXT"
    static let options: [OptionSpec] = [
        .value("partner", "ID", "the partner whose key is revoked"),
        .value("key", "KEYID", "the id of the key to revoke (see `coalition partners show ID`)"),
        .value("reason", "TEXT", "why, recorded with the revocation (no secrets)"),
        waitOption,
    ]
    static let discussion = """
        Records the revocation in the partner's file in DIR/network/ (revokedAt, now, and the
        reason), effective at once: from then on no file signed with the key is accepted,
        whatever its created-at (KEY_REVOKED), and nothing is signed with it. `partners show`
        shows it. If the partner has no other valid key, run `coalition keys rotate --partner
        ID --overlap-days 0` to give it one.
        """

    struct Revoked: Encodable {
        let partner: String
        let key: String
        let revokedAt: String
        let reason: String
        let validKeysLeft: [String]
    }

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        guard let partnerText = context.arguments.value("partner"), let keyID = context.arguments.value("key"),
            let reason = context.arguments.value("reason"), !reason.isEmpty
        else {
            throw CoalitionError(.usage, "--partner ID, --key KEYID and --reason TEXT are required\nusage: \(usage)")
        }
        // It rewrites the partner's file: one writer at a time, as `keys rotate`.
        let ledger = try context.openForWriting()
        let partner = try ledger.network.partner(named: partnerText)
        guard let key = partner.keys.first(where: { $0.id == keyID }) else {
            let hint = Suggestion.phrase(for: keyID, among: partner.keys.map(\.id))
            throw CoalitionError(.unknownKey, "\(partner.id) has no key '\(keyID)'.\(hint)")
        }
        if let revocation = key.revocation {
            throw CoalitionError(.keyRevoked, "key \(keyID) of \(partner.id) was already revoked at \(revocation.at)")
        }
        let now = Clock.now
        try PartnerFile.update(partner.id, in: context.data.networkPath) { object in
            var keys = object["keys"] as? [[String: Any]] ?? []
            for index in keys.indices where keys[index]["id"] as? String == keyID {
                keys[index]["revokedAt"] = now.description
                keys[index]["revocationReason"] = reason
            }
            object["keys"] = keys
        }
        let reloaded = try NetworkLoader.load(directory: context.data.networkPath).partner(partner.id)
        let left = reloaded.keys.filter { $0.isValid(at: now) }.map(\.id)
        if context.json {
            Output.json(
                Revoked(
                    partner: partner.id.rawValue,
                    key: keyID,
                    revokedAt: now.description,
                    reason: reason,
                    validKeysLeft: left
                )
            )
        } else {
            Output.line("Key \(keyID) of \(partner.id) revoked at \(now): \(reason)")
            if left.isEmpty {
                Output.line(
                    "\(partner.id) has no valid key left: run `coalition keys rotate --partner \(partner.id) --overlap-days 0`"
                )
            } else {
                Output.line("Keys still valid: \(left.joined(separator: ", "))")
            }
        }
        return .success
    }
}

/// A partner's definition file in the data directory's network/, changed in place.
enum PartnerFile {
    /// Applies `change` to the JSON object of `partner`'s file and replaces the file
    /// atomically, then checks that the network still loads.
    static func update(_ partner: PartnerID, in network: String, _ change: (inout [String: Any]) -> Void) throws {
        let fileManager = FileManager.default
        let names = try fileManager.contentsOfDirectory(atPath: network).sorted()
        var found: (String, [String: Any])?
        for name in names where name.hasSuffix(".json") && name != NetworkLoader.networkFile {
            guard let data = fileManager.contents(atPath: network + "/" + name),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                object["id"] as? String == partner.rawValue
            else { continue }
            found = (network + "/" + name, object)
            break
        }
        guard let (path, found) = found else {
            throw CoalitionError(.badConfig, "no file for \(partner) in \(network)")
        }
        var object = found
        change(&object)
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        let temporary = path + ".tmp"
        guard fileManager.createFile(atPath: temporary, contents: data) else {
            throw CoalitionError(.io, "cannot write the partner's file", at: Place(file: temporary))
        }
        guard rename(temporary, path) == 0 else {
            throw CoalitionError(.io, "cannot replace the partner's file", at: Place(file: path))
        }
        _ = try NetworkLoader.load(directory: network)
    }
}
