import CoalitionFiles
import CoalitionKit
import CoalitionTestSupport
import Foundation

/// The demo network's partners under a network with a referral programme, written to a
/// temporary directory: the terms change on 2026-03-01 from partner-funded to
/// coalition-funded bonuses.
enum ReferralNetwork {
    /// The published test key of the code vector in docs/settlement-format.md.
    static let testKeyHex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

    static func make(
        in directory: TemporaryDirectory,
        perYear: Int = 3,
        clawbackDays: Int = 60,
        minimum: Int = 100,
        lifetimeDays: Int = 540,
        coalitionValue: String? = nil
    ) throws -> Network {
        let fileManager = FileManager.default
        for name in try fileManager.contentsOfDirectory(atPath: Fixtures.partnersDirectory)
        where name.hasSuffix(".json") && name != "network.json" {
            try fileManager.copyItem(
                atPath: (Fixtures.partnersDirectory as NSString).appendingPathComponent(name),
                toPath: directory.file(name)
            )
        }
        try Data("# test key, published\n\(testKeyHex)\n".utf8).write(
            to: URL(fileURLWithPath: directory.file("referral.key"))
        )
        let network = """
            { "name": "referrals", "pointsLifetimeDays": \(lifetimeDays), "timeZone": "UTC", "tierWindowDays": 365,
              "downgradePolicy": "one-tier",
              "tiers": [{ "name": "Blue", "qualifyingPoints": 0, "bonusPercent": 0 },
                        { "name": "Silver", "qualifyingPoints": 25000, "bonusPercent": 10 }],
              "transferLimits": { "minimum": 1, "step": 1, "maximumPerTransfer": 100000 },
              "clearing": { "feeBasisPoints": 10, "acceptedPastDays": 3650, "acceptedFutureMinutes": 15 },
              "referrals": {
                "codeKeyFile": "referral.key", "perReferrerPerYear": \(perYear), "clawbackDays": \(clawbackDays),
                "terms": [
                  { "from": "2026-01-01", "referrerPoints": 500, "referredPoints": 250,
                    "minimumEarnPoints": \(minimum), "funding": "earning-partner" },
                  { "from": "2026-03-01", "referrerPoints": 1000, "referredPoints": 400,
                    "minimumEarnPoints": \(minimum), "withinDays": 90, "funding": "coalition" }
                ]\(coalitionValue.map { ", \"coalitionValue\": \($0)" } ?? "")
              } }
            """
        try Data(network.utf8).write(to: URL(fileURLWithPath: directory.file("network.json")))
        return try NetworkLoader.load(directory: directory.path)
    }
}

extension RecordMaker {
    mutating func enroll(
        _ member: MemberNumber,
        at partner: PartnerID,
        _ time: String,
        code: ReferralCode?
    ) -> LedgerRecord {
        LedgerRecord(
            key: key(partner),
            occurredAt: Fixtures.time(time),
            body: .enroll(member: member, referralCode: code)
        )
    }
}
