/// A value that changes on known dates: each entry applies from its `from` instant until the
/// next entry's. A record converts at the entry in force at its `occurred` time.
public struct EffectiveSchedule<Value: Sendable & Hashable>: Sendable, Hashable {
    public struct Entry: Sendable, Hashable {
        public let from: Timestamp
        public let value: Value

        package init(from: Timestamp, value: Value) {
            self.from = from
            self.value = value
        }
    }

    /// Entries in increasing `from` order, no two on the same instant.
    public let entries: [Entry]

    public init(_ entries: [Entry]) { self.entries = entries.sorted { $0.from < $1.from } }

    /// The value in force at `time`, or nil before the first entry.
    public func value(at time: Timestamp) -> Value? {
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
public enum PartnerKind: String, Sendable, CaseIterable {
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
public struct PartnerUnit: Sendable, Hashable {
    /// Short code used in ledger accounts: `MILE`, `HPT`, `USD`.
    public let code: String
    /// What people call it: "miles", "hotel points", "US dollar cents spent".
    public let name: String

    package init(code: String, name: String) {
        self.code = code
        self.name = name
    }
}

/// One signing key of a partner's key ring: its id and when it may sign. The secret itself
/// lives in a key file in the data directory, never here.
public struct KeyInfo: Sendable, Hashable {
    public let id: String
    public let validFrom: Timestamp
    /// The first instant the key may no longer sign; nil for no end yet.
    public let validUntil: Timestamp?
    /// The key file, relative to the partners directory (for demo keys) or the data directory.
    public let file: String
    /// A demo key is published in the repository and must never guard real value.
    public let isDemo: Bool
    /// When and why the operator revoked the key, if it was: from then on it signs nothing
    /// and no file under it is accepted, whatever its created-at says.
    public var revocation: KeyRevocation? = nil

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

    public func isValid(at time: Timestamp) -> Bool {
        time >= validFrom && (validUntil.map { time < $0 } ?? true) && (revocation.map { time < $0.at } ?? true)
    }
}

/// The revocation of a key: effective at `at`, for `reason`.
public struct KeyRevocation: Sendable, Hashable {
    public let at: Timestamp
    public let reason: String

    public init(at: Timestamp, reason: String) {
        self.at = at
        self.reason = reason
    }
}

/// A partner brand of the coalition.
///
/// Immutable, and compared by value; a class so that handing a partner to each record costs
/// one reference count, not one for each of its strings and tables.
public final class Partner: Sendable, Hashable {
    public let id: PartnerID
    public let name: String
    public let kind: PartnerKind
    public let unit: PartnerUnit
    /// Coalition points per one of the partner's units, by date.
    public let earnRates: EffectiveSchedule<Rate>
    public let settlementCurrency: Currency
    /// What the partner is paid per coalition point redeemed with it, in major units of its
    /// settlement currency, by date.
    public let redemptionValues: EffectiveSchedule<Rate>
    public let keys: [KeyInfo]
    /// The acknowledgement version the partner reads: 1 (record outcomes), or 2 (with the
    /// issuer split and the obligations of each redemption and reversal).
    public let acknowledgementVersion: Int
    /// Where the partner's events are delivered, if it takes them (docs/api.md, Webhooks).
    public let webhook: WebhookEndpoint?

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

    public static func == (a: Partner, b: Partner) -> Bool {
        a === b
            || (a.id == b.id && a.name == b.name && a.kind == b.kind && a.unit == b.unit
                && a.earnRates == b.earnRates && a.settlementCurrency == b.settlementCurrency
                && a.redemptionValues == b.redemptionValues && a.keys == b.keys
                && a.acknowledgementVersion == b.acknowledgementVersion && a.webhook == b.webhook)
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(id) }

    /// The earn rate in force at `time`, or `RATE_NOT_IN_FORCE`.
    public func earnRate(at time: Timestamp) throws -> Rate {
        guard let rate = earnRates.value(at: time) else {
            throw CoalitionError(.rateNotInForce, "\(id) has no rate in force at \(time)")
        }
        return rate
    }

    /// Minor units of the settlement currency per point, at `time`, or `RATE_NOT_IN_FORCE`.
    public func redemptionValue(at time: Timestamp) throws -> Rate {
        guard let value = redemptionValues.value(at: time) else {
            throw CoalitionError(.rateNotInForce, "\(id) has no redemption value in force at \(time)")
        }
        return try value.scaled(by: settlementCurrency.minorUnitsPerMajor)
    }
}

extension Account {
    /// The account of a partner's own unit.
    public static func unit(of partner: Partner) -> String { "\(partner.id).\(partner.unit.code)" }
}
