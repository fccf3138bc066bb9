/// An amount of money as JSON: minor units, exact.
package struct MinorAmount: Encodable, Sendable {
    let currency: String
    let amountMinor: Int64

    package init(_ money: Money) {
        currency = money.currency.code
        amountMinor = money.minorUnits
    }
}

/// Unsettled positions as JSON (`report positions --json`): per currency, the gross, the
/// nets by participant and the fees, as if a cycle closed now.
package struct PositionsAnswer: Encodable, Sendable {
    package struct Currency: Encodable, Sendable {
        let currency: String
        let grossMinor: Int64
        let netMinor: Int64
        let net: [String: Int64]
        let feesMinor: [String: Int64]
    }

    let asOf: String
    let openObligations: Int
    let currencies: [Currency]

    package init(_ report: PositionsReport) {
        asOf = report.asOf.description
        openObligations = report.openObligations
        currencies = report.clearings.map { c in
            Currency(
                currency: c.currency.code,
                grossMinor: c.grossTotal,
                netMinor: c.netTotal,
                net: Dictionary(uniqueKeysWithValues: c.net.map { ($0.key.description, $0.value) }),
                feesMinor: Dictionary(uniqueKeysWithValues: c.fees.map { ($0.key.rawValue, $0.value) })
            )
        }
    }
}

/// The points liability as JSON (`report liability --json`): per issuer the points
/// outstanding, their value where the issuer has a rate, breakage and members holding them.
package struct LiabilityAnswer: Encodable, Sendable {
    package struct Issuer: Encodable, Sendable {
        let issuer: String
        let pointsOutstanding: Int64
        let breakage: Int64
        let members: Int
        /// Absent where the issuer has no redemption value in force.
        let value: MinorAmount?
    }

    let asOf: String
    let issuers: [Issuer]

    package init(_ report: LiabilityReport) {
        asOf = report.asOf.description
        issuers = report.lines.map { line in
            Issuer(
                issuer: line.issuer.rawValue,
                pointsOutstanding: line.pointsOutstanding,
                breakage: line.breakage,
                members: line.members,
                value: line.value.map(MinorAmount.init)
            )
        }
    }
}

/// A partner's reconciliation against the ledger as JSON (`reconcile --json`): what matched,
/// the totals matched and unmatched on each side, and every break.
package struct ReconciliationAnswer: Encodable, Sendable {
    package struct Break: Encodable, Sendable {
        let kind: String
        let record: String
        let line: Int?
        let ledger: MinorAmount?
        let ledgerCycle: Int64?
        let partner: MinorAmount?
    }

    let partner: String
    let cycle: Int64
    let matched: Int
    let matchedTotals: [String: Int64]
    let unmatchedLedgerTotals: [String: Int64]
    let unmatchedPartnerTotals: [String: Int64]
    let breaks: [Break]

    package init(_ report: ReconciliationReport) {
        func totals(_ sums: [Currency: Int64]) -> [String: Int64] {
            Dictionary(uniqueKeysWithValues: sums.map { ($0.key.code, $0.value) })
        }
        partner = report.partner.rawValue
        cycle = report.cycle
        matched = report.matchedRecords
        matchedTotals = totals(report.matchedTotals)
        unmatchedLedgerTotals = totals(report.unmatchedLedger)
        unmatchedPartnerTotals = totals(report.unmatchedPartner)
        breaks = report.breaks.map { b in
            Break(
                kind: b.kind.rawValue,
                record: b.recordID,
                line: b.line,
                ledger: b.ledgerAmount.map(MinorAmount.init),
                ledgerCycle: b.ledgerCycle,
                partner: b.partnerAmount.map(MinorAmount.init)
            )
        }
    }
}
