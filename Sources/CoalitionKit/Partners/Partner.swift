/// A value that changes on known dates: each entry applies from its `from` instant until the
/// next entry's. A record converts at the entry in force at its `occurred` time.
package struct EffectiveSchedule<Value: Sendable & Hashable>: Sendable, Hashable {
    package struct Entry: Sendable, Hashable {
        package let from: Timestamp
        package let value: Value

        package init(from: Timestamp, value: Value) {
            self.from = from
            self.value = value
        }
    }

    /// Entries in increasing `from` order, no two on the same instant.
    package let entries: [Entry]

    package init(_ entries: [Entry]) { self.entries = entries.sorted { $0.from < $1.from } }

    /// The value in force at `time`, or nil before the first entry.
    package func value(at time: Timestamp) -> Value? {
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].from <= time { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? nil : entries[low - 1].value
    }
}

/// What kind of business a partner is. Free text is refused so reports can group by it.
package enum PartnerKind: String, Sendable, CaseIterable {
    case airline
    case hotel
    case carRental = "car-rental"
    case retail
    case dining
    case bank
    case travel
}

/// The unit a partner reports amounts in: its own points or miles, or money spent in minor
/// units (cents) of a currency.
package struct PartnerUnit: Sendable, Hashable {
    /// Short code used in ledger accounts: `MILE`, `HPT`, `USD`.
    package let code: String
    /// What people call it: "miles", "hotel points", "US dollar cents spent".
    package let name: String

    package init(code: String, name: String) {
        self.code = code
        self.name = name
    }
}

/// One signing key of a partner's key ring: its id and when it may sign. The secret itself
/// lives in a key file in the data directory, never here.
package struct KeyInfo: Sendable, Hashable {
    package let id: String
    package let validFrom: Timestamp
    /// The first instant the key may no longer sign; nil for no end yet.
    package let validUntil: Timestamp?
    /// The key file, relative to the partners directory (for demo keys) or the data directory.
    package let file: String
    /// A demo key is published in the repository and must never guard real value.
    package let isDemo: Bool
    /// When and why the operator revoked the key, if it was: from then on it signs nothing
    /// and no file under it is accepted, whatever its created-at says.
    package var revocation: KeyRevocation? = nil

    package init(
        id: String,
        validFrom: Timestamp,
        validUntil: Timestamp?,
        file: String,
        isDemo: Bool,
        revocation: KeyRevocation? = nil
    ) {
        self.id = id
        self.validFrom = validFrom
        self.validUntil = validUntil
        self.file = file
        self.isDemo = isDemo
        self.revocation = revocation
    }

    package func isValid(at time: Timestamp) -> Bool {
        time >= validFrom && (validUntil.map { time < $0 } ?? true) && (revocation.map { time < $0.at } ?? true)
    }
}

/// The revocation of a key: effective at `at`, for `reason`.
package struct KeyRevocation: Sendable, Hashable {
    package let at: Timestamp
    package let reason: String

    package init(at: Timestamp, reason: String) {
        self.at = at
        self.reason = reason
    }
}

/// A partner brand of the coalition.
///
/// Immutable, and compared by value; a class so that handing a partner to each record costs
/// one reference count, not one for each of its strings and tables.
package final class Partner: Sendable, Hashable {
    package let id: PartnerID
    package let name: String
    package let kind: PartnerKind
    package let unit: PartnerUnit
    /// Coalition points per one of the partner's units, by date.
    package let earnRates: EffectiveSchedule<Rate>
    package let settlementCurrency: Currency
    /// What the partner is paid per coalition point redeemed with it, in major units of its
    /// settlement currency, by date.
    package let redemptionValues: EffectiveSchedule<Rate>
    package let keys: [KeyInfo]
    /// The acknowledgement version the partner reads: 1 (record outcomes), or 2 (with the
    /// issuer split and the obligations of each redemption and reversal).
    package let acknowledgementVersion: Int
    /// Where the partner's events are delivered, if it takes them (docs/api.md, Webhooks).
    package let webhook: WebhookEndpoint?

    package init(
        id: PartnerID,
        name: String,
        kind: PartnerKind,
        unit: PartnerUnit,
        earnRates: EffectiveSchedule<Rate>,
        settlementCurrency: Currency,
        redemptionValues: EffectiveSchedule<Rate>,
        keys: [KeyInfo],
        acknowledgementVersion: Int = 1,
        webhook: WebhookEndpoint? = nil
    ) {
        self.id = id
        self.name = name
        self.kind = kind
        self.unit = unit
        self.earnRates = earnRates
        self.settlementCurrency = settlementCurrency
        self.redemptionValues = redemptionValues
        self.keys = keys
        self.acknowledgementVersion = acknowledgementVersion
        self.webhook = webhook
    }

    package static func == (a: Partner, b: Partner) -> Bool {
        a === b
            || (a.id == b.id && a.name == b.name && a.kind == b.kind && a.unit == b.unit
                && a.earnRates == b.earnRates && a.settlementCurrency == b.settlementCurrency
                && a.redemptionValues == b.redemptionValues && a.keys == b.keys
                && a.acknowledgementVersion == b.acknowledgementVersion && a.webhook == b.webhook)
    }

    package func hash(into hasher: inout Hasher) { hasher.combine(id) }

    /// The earn rate in force at `time`, or `RATE_NOT_IN_FORCE`.
    package func earnRate(at time: Timestamp) throws -> Rate {
        guard let rate = earnRates.value(at: time) else {
            throw CoalitionError(.rateNotInForce, "\(id) has no rate in force at \(time)")
        }
        return rate
    }

    /// Minor units of the settlement currency per point, at `time`, or `RATE_NOT_IN_FORCE`.
    package func redemptionValue(at time: Timestamp) throws -> Rate {
        guard let value = redemptionValues.value(at: time) else {
            throw CoalitionError(.rateNotInForce, "\(id) has no redemption value in force at \(time)")
        }
        return try value.scaled(by: settlementCurrency.minorUnitsPerMajor)
    }
}

extension Account {
    /// The account of a partner's own unit.
    package static func unit(of partner: Partner) -> String { "\(partner.id).\(partner.unit.code)" }
}
