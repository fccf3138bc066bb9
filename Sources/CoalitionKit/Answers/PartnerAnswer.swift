/// A partner as JSON (`partners list` and `partners show` with `--json`): unit, rate
/// history, redemption values, keys. Rates are exact: a decimal or a fraction, as the
/// network's files write them.
package struct PartnerAnswer: Encodable, Sendable {
    package struct Unit: Encodable, Sendable {
        let code: String
        let name: String
    }

    package struct EarnRate: Encodable, Sendable {
        let from: String
        let pointsPerUnit: String
    }

    package struct RedemptionValue: Encodable, Sendable {
        let from: String
        let valuePerPoint: String
    }

    package struct Key: Encodable, Sendable {
        let id: String
        let validFrom: String
        let validUntil: String?
        let demo: Bool
        let validNow: Bool
        let revokedAt: String?
        let revocationReason: String?
    }

    let id: String
    let name: String
    let kind: String
    let unit: Unit
    let settlementCurrency: String
    let earnRates: [EarnRate]
    let redemptionValues: [RedemptionValue]
    let keys: [Key]
    /// The points outstanding with this partner as issuer (`partners show` only).
    package var pointsOutstanding: Int64?

    package init(_ p: Partner, at now: Timestamp) {
        id = p.id.rawValue
        name = p.name
        kind = p.kind.rawValue
        unit = Unit(code: p.unit.code, name: p.unit.name)
        settlementCurrency = p.settlementCurrency.code
        earnRates = p.earnRates.entries.map { EarnRate(from: $0.from.description, pointsPerUnit: $0.value.description) }
        redemptionValues = p.redemptionValues.entries.map {
            RedemptionValue(from: $0.from.description, valuePerPoint: $0.value.description)
        }
        keys = p.keys.map { key in
            Key(
                id: key.id,
                validFrom: key.validFrom.description,
                validUntil: key.validUntil?.description,
                demo: key.isDemo,
                validNow: key.isValid(at: now),
                revokedAt: key.revocation?.at.description,
                revocationReason: key.revocation?.reason
            )
        }
    }
}

/// The network's partners as JSON (`partners list --json`).
package struct PartnerListAnswer: Encodable, Sendable {
    let partners: [PartnerAnswer]

    package init(_ partners: [Partner], at now: Timestamp) {
        self.partners = partners.map { PartnerAnswer($0, at: now) }
    }
}
