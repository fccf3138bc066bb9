import Foundation

/// Builds a network from its definition's bytes: `network.json` for the network's
/// rules and one `<partner>.json` per partner. Every fault names its file and field.
/// `CoalitionFiles` reads the directory.
package enum NetworkLoader {
    package static let networkFile = "network.json"

    /// The network defined in `directory`, whose files are `names`: `read` gives a file's
    /// bytes and `keyFile` the key of a key file the definition names (the referral code
    /// key), each by path.
    package static func parse(
        directory: String,
        names: [String],
        read: (String) throws -> Data,
        keyFile: (String) throws -> [UInt8]
    ) throws -> Network {
        let networkPath = (directory as NSString).appendingPathComponent(networkFile)
        let rules = try ConfigReader(file: networkPath, data: try read(networkPath))
        var partners: [Partner] = []
        for name in names.sorted() where name.hasSuffix(".json") && name != networkFile {
            let path = (directory as NSString).appendingPathComponent(name)
            let partner = try parsePartner(ConfigReader(file: path, data: try read(path)))
            if partners.contains(where: { $0.id == partner.id }) {
                throw CoalitionError(.badConfig, "partner \(partner.id) is defined twice", at: Place(file: path))
            }
            partners.append(partner)
        }
        guard !partners.isEmpty else {
            throw CoalitionError(.badConfig, "no partner files (*.json) found", at: Place(file: directory))
        }
        if partners.contains(where: { $0.id == .coalition }) {
            throw CoalitionError(
                .badConfig,
                "partner id COALITION is reserved for the coalition itself",
                at: Place(file: directory)
            )
        }
        return try parseNetwork(rules, partners: partners, directory: directory, keyFile: keyFile)
    }

    static func parseNetwork(
        _ r: ConfigReader,
        partners: [Partner],
        directory: String = ".",
        keyFile: (String) throws -> [UInt8]
    ) throws -> Network {
        try r.allowOnly([
            "name", "pointsLifetimeDays", "timeZone", "utcOffsetMinutes", "tiers", "tierWindowDays",
            "downgradePolicy", "transferLimits", "clearing", "referrals",
        ])
        let tiers = try parseTiers(r)
        let policyText = try r.string("downgradePolicy")
        guard let policy = DowngradePolicy(rawValue: policyText) else {
            throw r.fail("downgradePolicy", "'\(policyText)' is not one of: one-tier, to-qualified")
        }
        let limits = try parseTransferLimits(try r.object("transferLimits"))
        let clearing = try parseClearing(try r.object("clearing"))
        let (zone, offset) = try parseTimeZone(r)
        return Network(
            name: try r.string("name"),
            pointsLifetimeDays: try r.integer("pointsLifetimeDays", in: 1...36_500),
            utcOffsetMinutes: offset,
            tiers: tiers,
            tierWindowDays: try r.integer("tierWindowDays", in: 1...3660),
            downgradePolicy: policy,
            transferLimits: limits,
            clearing: clearing,
            partners: partners,
            timeZone: zone,
            referrals: r.has("referrals")
                ? try parseReferrals(try r.object("referrals"), directory: directory, keyFile: keyFile) : nil
        )
    }

    /// `tiers`: names and thresholds distinct, one at 0 qualifying points.
    static func parseTiers(_ r: ConfigReader) throws -> [Tier] {
        var tiers: [Tier] = []
        for t in try r.objects("tiers") {
            try t.allowOnly(["name", "qualifyingPoints", "bonusPercent"])
            let tier = Tier(
                name: try t.string("name"),
                qualifyingPoints: try t.integer("qualifyingPoints", in: 0...1_000_000_000_000),
                bonusPercent: try t.integer("bonusPercent", in: 0...1000)
            )
            if tiers.contains(where: { $0.name == tier.name || $0.qualifyingPoints == tier.qualifyingPoints }) {
                throw t.fail("name", "two tiers share a name or a threshold")
            }
            tiers.append(tier)
        }
        guard tiers.contains(where: { $0.qualifyingPoints == 0 }) else {
            throw r.fail("tiers", "one tier must have qualifyingPoints 0: every member is in some tier")
        }
        guard tiers.contains(where: { $0.qualifyingPoints == 0 }) else {
            throw r.fail("tiers", "one tier must have qualifyingPoints 0: every member is in some tier")
        }
        return tiers
    }

    /// `transferLimits`: what a member may send and receive, and the fee.
    static func parseTransferLimits(_ l: ConfigReader) throws -> TransferLimits {
        try l.allowOnly([
            "minimum", "step", "maximumPerTransfer", "sentPerYear", "receivedPerYear", "transfersPerDay",
            "transfersPerMonth", "transfersPerYear", "feePoints",
        ])
        let limits = TransferLimits(
            minimum: try l.integer("minimum", in: 1...1_000_000_000),
            step: try l.integer("step", in: 1...1_000_000_000),
            maximumPerTransfer: try l.integer("maximumPerTransfer", in: 1...1_000_000_000_000),
            sentPerYear: try l.optionalInteger("sentPerYear"),
            receivedPerYear: try l.optionalInteger("receivedPerYear"),
            transfersPerDay: try l.optionalInteger("transfersPerDay"),
            transfersPerMonth: try l.optionalInteger("transfersPerMonth"),
            transfersPerYear: try l.optionalInteger("transfersPerYear"),
            feePoints: try l.optionalInteger("feePoints", in: 0...1_000_000_000) ?? 0
        )
        guard limits.minimum <= limits.maximumPerTransfer else {
            throw l.fail("minimum", "is above maximumPerTransfer")
        }
        return limits
    }

    /// `clearing`: the fee and how far from now a record's time may lie.
    static func parseClearing(_ c: ConfigReader) throws -> ClearingSettings {
        try c.allowOnly(["feeBasisPoints", "acceptedPastDays", "acceptedFutureMinutes"])
        let clearing = ClearingSettings(
            feeBasisPoints: try c.integer("feeBasisPoints", in: 0...10_000),
            acceptedPastSeconds: try c.integer("acceptedPastDays", in: 0...3650) * 86_400,
            acceptedFutureSeconds: try c.integer("acceptedFutureMinutes", in: 0...1440) * 60
        )
        return clearing
    }

    /// `timeZone`, an IANA zone name, or (as older network files have it) a fixed
    /// `utcOffsetMinutes`: one of them.
    static func parseTimeZone(_ r: ConfigReader) throws -> (zone: TimeZone?, offsetMinutes: Int64) {
        var zone: TimeZone?
        var offset: Int64 = 0
        switch (r.has("timeZone"), r.has("utcOffsetMinutes")) {
        case (true, true):
            throw r.fail("utcOffsetMinutes", "give timeZone or utcOffsetMinutes, not both")
        case (true, false):
            let name = try r.string("timeZone")
            guard name == "UTC" || TimeZone.knownTimeZoneIdentifiers.contains(name),
                let named = TimeZone(identifier: name)
            else {
                throw r.fail("timeZone", "'\(name)' is not an IANA time zone name this system knows (Europe/Amsterdam)")
            }
            zone = named
        case (false, true):
            offset = try r.integer("utcOffsetMinutes", in: -14 * 60...14 * 60)
        case (false, false):
            throw r.fail("timeZone", "missing: the network's IANA time zone name (Europe/Amsterdam)")
        }
        return (zone, offset)
    }

    /// `referrals`: the code key's file (relative to the partners directory, or absolute),
    /// the limit, the clawback window and the effective-dated bonus terms.
    static func parseReferrals(
        _ r: ConfigReader,
        directory: String,
        keyFile: (String) throws -> [UInt8]
    ) throws -> ReferralProgramme {
        try r.allowOnly(["codeKeyFile", "perReferrerPerYear", "clawbackDays", "terms", "coalitionValue"])
        let file = try r.string("codeKeyFile")
        let path = file.hasPrefix("/") ? file : (directory as NSString).appendingPathComponent(file)
        let key = try keyFile(path)
        var entries: [EffectiveSchedule<ReferralTerms>.Entry] = []
        for t in try r.objects("terms") {
            try t.allowOnly(["from", "referrerPoints", "referredPoints", "minimumEarnPoints", "withinDays", "funding"])
            let fundingText = try t.string("funding")
            guard let funding = ReferralFunding(rawValue: fundingText) else {
                throw t.fail("funding", "'\(fundingText)' is not one of: earning-partner, coalition")
            }
            let terms = ReferralTerms(
                referrerPoints: try t.integer("referrerPoints", in: 0...1_000_000_000),
                referredPoints: try t.integer("referredPoints", in: 0...1_000_000_000),
                minimumEarnPoints: try t.integer("minimumEarnPoints", in: 1...1_000_000_000_000),
                withinDays: try t.optionalInteger("withinDays", in: 1...36_500),
                funding: funding
            )
            let entry = EffectiveSchedule<ReferralTerms>.Entry(from: try t.time("from"), value: terms)
            if entries.contains(where: { $0.from == entry.from }) {
                throw t.fail("from", "two entries take effect at \(entry.from)")
            }
            entries.append(entry)
        }
        return ReferralProgramme(
            codeKey: key,
            terms: EffectiveSchedule(entries),
            perReferrerPerYear: try r.optionalInteger("perReferrerPerYear", in: 1...1_000_000),
            clawbackDays: try r.integer("clawbackDays", in: 0...3650),
            coalitionValue: r.has("coalitionValue") ? try coalitionValue(try r.object("coalitionValue")) : nil
        )
    }

    /// `referrals.coalitionValue`: `currency` and effective-dated `values` (`from`,
    /// `valuePerPoint` in major units), as a partner's redemption values.
    static func coalitionValue(_ r: ConfigReader) throws -> CoalitionPointValue {
        try r.allowOnly(["currency", "values"])
        let text = try r.string("currency")
        let currency: Currency
        do { currency = try Currency(code: text) } catch let error as CoalitionError {
            throw r.fail("currency", error.message, code: .unknownCurrency)
        }
        return CoalitionPointValue(currency: currency, values: try schedule(r, "values", valueKey: "valuePerPoint"))
    }

    static func parsePartner(_ r: ConfigReader) throws -> Partner {
        try r.allowOnly([
            "id", "name", "kind", "unit", "earnRates", "settlementCurrency", "redemptionValues", "keys",
            "acknowledgementVersion", "webhook",
        ])
        let id: PartnerID
        do { id = try PartnerID(try r.string("id")) } catch let error as CoalitionError {
            throw r.fail("id", error.message, code: .badConfig)
        }
        let kindText = try r.string("kind")
        guard let kind = PartnerKind(rawValue: kindText) else {
            let known = PartnerKind.allCases.map(\.rawValue).joined(separator: ", ")
            throw r.fail("kind", "'\(kindText)' is not one of: \(known)")
        }
        let u = try r.object("unit")
        try u.allowOnly(["code", "name"])
        let unitCode = try u.string("code")
        guard (2...8).contains(unitCode.count), unitCode.utf8.allSatisfy({ (65...90).contains($0) }) else {
            throw u.fail("code", "'\(unitCode)' is not a unit code (2 to 8 of A-Z)")
        }
        let currencyText = try r.string("settlementCurrency")
        let currency: Currency
        do { currency = try Currency(code: currencyText) } catch let error as CoalitionError {
            throw r.fail("settlementCurrency", error.message, code: .unknownCurrency)
        }
        let earnRates = try schedule(r, "earnRates", valueKey: "pointsPerUnit")
        let values = try schedule(r, "redemptionValues", valueKey: "valuePerPoint")
        var keys: [KeyInfo] = []
        for k in try r.objects("keys") {
            try k.allowOnly(["id", "validFrom", "validUntil", "file", "demo", "revokedAt", "revocationReason"])
            let key = KeyInfo(
                id: try k.string("id"),
                validFrom: try k.time("validFrom"),
                validUntil: k.has("validUntil") ? try k.time("validUntil") : nil,
                file: try k.string("file"),
                isDemo: try k.bool("demo", default: false),
                revocation: k.has("revokedAt")
                    ? KeyRevocation(
                        at: try k.time("revokedAt"),
                        reason: k.has("revocationReason") ? try k.string("revocationReason") : ""
                    ) : nil
            )
            guard RecordKey.isValidID(key.id), key.id.count <= 32 else {
                throw k.fail("id", "'\(key.id)' is not a key id (1 to 32 printable ASCII, no space or '|')")
            }
            if let until = key.validUntil, until <= key.validFrom {
                throw k.fail("validUntil", "must be after validFrom")
            }
            if keys.contains(where: { $0.id == key.id }) { throw k.fail("id", "key id \(key.id) is used twice") }
            keys.append(key)
        }
        return Partner(
            id: id,
            name: try r.string("name"),
            kind: kind,
            unit: PartnerUnit(code: unitCode, name: try u.string("name")),
            earnRates: earnRates,
            settlementCurrency: currency,
            redemptionValues: values,
            keys: keys,
            acknowledgementVersion: Int(try r.optionalInteger("acknowledgementVersion", in: 1...2) ?? 1),
            webhook: r.has("webhook") ? try webhook(try r.object("webhook")) : nil
        )
    }

    /// `{"url": "https://host:port/path", "secretFile": "…", "trust": "…"}`: the files are
    /// named as given (absolute, or relative to the folder of the partner's file).
    static func webhook(_ w: ConfigReader) throws -> WebhookEndpoint {
        try w.allowOnly(["url", "secretFile", "trust", "expiringWithinDays"])
        let folder = (w.file as NSString).deletingLastPathComponent
        func resolved(_ path: String) -> String {
            path.hasPrefix("/") ? path : (folder as NSString).appendingPathComponent(path)
        }
        let url = try w.string("url")
        guard let endpoint = WebhookEndpoint(url: url) else {
            throw w.fail("url", "'\(url)' is not an https://host[:port]/path URL")
        }
        return WebhookEndpoint(
            host: endpoint.host,
            port: endpoint.port,
            path: endpoint.path,
            secretFile: resolved(try w.string("secretFile")),
            trustFile: try w.optionalString("trust").map(resolved) ?? WebhookEndpoint.systemTrust,
            expiringWithinDays: try w.optionalInteger("expiringWithinDays", in: 1...365) ?? 30
        )
    }

    static func schedule(_ r: ConfigReader, _ key: String, valueKey: String) throws -> EffectiveSchedule<Rate> {
        var entries: [EffectiveSchedule<Rate>.Entry] = []
        for e in try r.objects(key) {
            try e.allowOnly(["from", valueKey])
            let entry = EffectiveSchedule<Rate>.Entry(from: try e.time("from"), value: try e.rate(valueKey))
            if entries.contains(where: { $0.from == entry.from }) {
                throw e.fail("from", "two entries take effect at \(entry.from)")
            }
            entries.append(entry)
        }
        return EffectiveSchedule(entries)
    }
}
