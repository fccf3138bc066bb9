/// Current unsettled positions: the open obligations (not yet in a cycle) netted per
/// currency as if a cycle closed now.
package struct PositionsReport: Sendable {
    package let asOf: Timestamp
    package let openObligations: Int
    package let clearings: [CurrencyClearing]

    package init(ledger: Ledger, asOf: Timestamp) throws {
        self.asOf = asOf
        let open = try ledger.store.obligations(openOnly: true)
        openObligations = open.count
        clearings = try Netting.clear(open, feeBasisPoints: ledger.network.clearing.feeBasisPoints)
    }
}

/// Points outstanding per issuer, what they would cost at the issuer's own redemption value,
/// and what expired unused (breakage).
package struct LiabilityReport: Sendable {
    package struct Line: Sendable {
        package let issuer: PartnerID
        package let pointsOutstanding: Int64
        /// Points at the issuer's own redemption value now, in its currency.
        package let value: Money?
        package let breakage: Int64
        package let members: Int
    }

    package let asOf: Timestamp
    package let lines: [Line]

    package init(ledger: Ledger, asOf: Timestamp) throws {
        self.asOf = asOf
        var holders: [PartnerID: Set<MemberNumber>] = [:]
        for account in ledger.state.members.values {
            for lot in account.lots { holders[lot.issuer, default: []].insert(account.number) }
        }
        var lines = try ledger.network.sortedPartners.map { partner in
            let outstanding = ledger.outstanding(partner.id)
            let value = try? partner.redemptionValue(at: asOf)
            return Line(
                issuer: partner.id,
                pointsOutstanding: outstanding,
                value: try value.map {
                    Money(try Conversion.value(of: outstanding, at: $0), partner.settlementCurrency)
                },
                breakage: ledger.balance(of: AccountKey(Account.breakage(partner.id), Account.points)),
                members: holders[partner.id]?.count ?? 0
            )
        }
        // Points the coalition issued itself (referral bonuses it funds): its own liability,
        // at the coalition's configured value per point (`referrals.coalitionValue`; without
        // one, no value).
        if ledger.network.referrals != nil {
            let outstanding = ledger.outstanding(.coalition)
            lines.append(
                Line(
                    issuer: .coalition,
                    pointsOutstanding: outstanding,
                    value: ledger.network.value(of: outstanding, issuedBy: .coalition, at: asOf),
                    breakage: ledger.balance(of: AccountKey(Account.breakage(.coalition), Account.points)),
                    members: holders[.coalition]?.count ?? 0
                )
            )
        }
        self.lines = lines
    }
}

extension Account {
    /// Points of an issuer that expired unused: their liability ended without a redemption.
    package static func breakage(_ id: PartnerID) -> String { "breakage:\(id)" }
}
