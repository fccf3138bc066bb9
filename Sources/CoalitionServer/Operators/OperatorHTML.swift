import CoalitionKit

/// The operator pages' HTML, in the member pages' document and style sheet.
enum OperatorHTML {
    /// What the dashboard shows, read in one writer job.
    struct Dashboard {
        let network: Network
        let summary: NetworkSummary
        let positions: PositionsReport
        let cycles: [ClearingCycle]
        let rejections: [(partner: PartnerID, code: ReasonCode, records: Int)]
        let performance: ProgrammePerformance
        let at: Timestamp
    }

    static let escape = PageHTML.escape

    /// Records rejected inside accepted files, by partner and reason, from the ledger.
    static func rejectionCounts(_ ledger: Ledger) throws -> [(partner: PartnerID, code: ReasonCode, records: Int)] {
        var counts: [PartnerID: [ReasonCode: Int]] = [:]
        for partner in ledger.network.sortedPartners {
            let last = try ledger.store.lastSequence(partner: partner.id)
            guard last > 0 else { continue }
            for sequence in 1...last {
                guard let batch = try ledger.store.batch(partner: partner.id, sequence: sequence), batch.rejected > 0
                else { continue }
                for rejection in try ledger.store.rejections(batch: batch.id) {
                    counts[partner.id, default: [:]][rejection.code, default: 0] += 1
                }
            }
        }
        return counts.keys.sorted().flatMap { partner in
            counts[partner]!.keys.sorted { $0.rawValue < $1.rawValue }.map { (partner, $0, counts[partner]![$0]!) }
        }
    }

    static func navigation(_ csrf: String) -> String {
        """
        <nav aria-label="Operator"><ul>\
        <li><a href="/operator/">Dashboard</a></li><li><a href="/operator/member">Member look-up</a></li>\
        <li><a href="/operator/positions">Open positions report</a></li></ul>\
        <form method="post" action="/operator/sign-out"><input type="hidden" name="csrf" value="\(escape(csrf))">\
        <button type="submit">Sign out</button></form></nav>
        """
    }

    static func signIn(csrf: String, message: String?) -> String {
        let error = message.map { "<p class=\"error\" role=\"alert\">\(escape($0))</p>" } ?? ""
        return """
            \(error)<p>Sign in with an operator token made by <code>coalition operator token create</code>.</p>
            <form method="post" action="/operator/sign-in">
            <input type="hidden" name="csrf" value="\(escape(csrf))">
            <label for="token">Operator token</label>
            <input id="token" name="token" type="password" autocomplete="current-password" required>
            <button type="submit">Sign in</button></form>
            """
    }

    static func table(_ caption: String, _ headings: [String], _ rows: [[String]], numeric: Set<Int> = []) -> String {
        guard !rows.isEmpty else { return "<p>\(escape(caption)): none.</p>" }
        let head = headings.map { "<th scope=\"col\">\(escape($0))</th>" }.joined()
        let body = rows.map { row in
            "<tr>"
                + row.enumerated().map { index, cell in
                    numeric.contains(index) ? "<td class=\"n\">\(escape(cell))</td>" : "<td>\(escape(cell))</td>"
                }.joined() + "</tr>"
        }.joined()
        return """
            <div class="scroll" tabindex="0" role="region" aria-label="\(escape(caption))"><table>\
            <caption>\(escape(caption))</caption><thead><tr>\(head)</tr></thead><tbody>\(body)</tbody></table></div>
            """
    }

    /// Each partner with its points outstanding and open lots.
    static func partnersTable(_ d: Dashboard) -> String {
        let network = d.network
        return table(
            "Partners",
            ["Partner", "Name", "Currency", "Points outstanding", "Open lots"],
            network.sortedPartners.map { partner in
                let line = d.summary.issuers.first { $0.issuer == partner.id }
                return [
                    partner.id.rawValue, partner.name, partner.settlementCurrency.code,
                    Points.grouped(line?.pointsOutstanding ?? 0), String(line?.openLots ?? 0),
                ]
            },
            numeric: [3, 4]
        )
    }

    /// The open positions per currency, netted as if a cycle closed now.
    static func nettingTable(_ d: Dashboard) -> String {
        table(
            "Open positions per currency, netted as if a cycle closed now",
            ["Currency", "Gross owed", "Net to settle", "Payments after netting"],
            d.positions.clearings.map { clearing in
                let e = clearing.currency.minorUnitExponent
                let gross = clearing.gross.values.reduce(Int64(0)) { $0 + $1.values.reduce(0, +) }
                let net = clearing.net.values.filter { $0 > 0 }.reduce(Int64(0), +)
                return [
                    clearing.currency.code, Money.decimal(gross, exponent: e), Money.decimal(net, exponent: e),
                    String(clearing.fewestPayments.count),
                ]
            },
            numeric: [1, 2, 3]
        )
    }

    /// Partner keys that expire within 60 days of the dashboard's time.
    static func expiringKeysTable(_ d: Dashboard) -> String {
        let network = d.network
        let soon = d.at.adding(seconds: 60 * Timestamp.secondsPerDay)
        return table(
            "Partner keys expiring in the next 60 days",
            ["Partner", "Key", "Valid until"],
            network.sortedPartners.flatMap { partner in
                partner.keys.filter { key in
                    key.revocation == nil && key.validUntil.map { $0 > d.at && $0 <= soon } ?? false
                }.map { [partner.id.rawValue, $0.id, $0.validUntil!.description] }
            }
        )
    }

    /// Issued, redeemed and expired points per partner, all time.
    static func performanceTable(_ p: ProgrammePerformance) -> String {
        table(
            "Programme performance per partner (all time)",
            ["Partner", "Issued", "Redeemed", "Expired", "Redemption rate", "Breakage rate", "Cost of points issued"],
            p.partners.map {
                [
                    $0.partner.rawValue, Points.grouped($0.issued), Points.grouped($0.redeemed),
                    Points.grouped($0.expired), ProgrammePerformance.percent($0.redemptionPerMille),
                    ProgrammePerformance.percent($0.breakagePerMille), $0.cost?.description ?? "–",
                ]
            },
            numeric: [1, 2, 3, 4, 5, 6]
        )
    }

    /// Points per partner per month, the last 60 rows.
    static func monthsTable(_ p: ProgrammePerformance) -> String {
        table(
            "Points per partner per month",
            ["Month", "Partner", "Issued", "Redeemed", "Expired"],
            p.months.suffix(60).map {
                [
                    $0.month, $0.partner.rawValue, Points.grouped($0.issued), Points.grouped($0.redeemed),
                    Points.grouped($0.expired),
                ]
            },
            numeric: [2, 3, 4]
        )
    }

    static func dashboard(_ d: Dashboard, webhooks: String, rejectedFiles: String) -> String {
        let partners = partnersTable(d)
        let netting = nettingTable(d)
        let cycles =
            d.cycles.isEmpty
            ? "<p>No cycle closed yet.</p>"
            : "<ul>"
                + d.cycles.map { cycle in
                    "<li><a href=\"/operator/cycles/\(cycle.number)\">Cycle \(cycle.number)</a>, through "
                        + "\(escape(cycle.through.description)), \(cycle.obligationCount) obligations</li>"
                }.joined() + "</ul>"
        let rejected = table(
            "Records rejected, by partner and reason",
            ["Partner", "Reason", "Records"],
            d.rejections.map { [$0.partner.rawValue, $0.code.rawValue, String($0.records)] },
            numeric: [2]
        )
        let keys = expiringKeysTable(d)
        let p = d.performance
        let totals = performanceTable(p)
        let months = monthsTable(p)
        let tiers = table(
            "Tier mix",
            ["Tier", "Members"],
            p.tierMix.map { [$0.tier, String($0.members)] },
            numeric: [1]
        )
        return """
            <p>As of \(escape(d.at.description)): \(d.summary.members) members, \(p.activeMembers) active in the \
            last 365 days; \(Points.grouped(d.summary.pointsHeld)) points held; \
            \(d.positions.openObligations) open obligations.</p>
            <h2>Partners</h2>\(partners)
            <h2>Open positions</h2>\(netting)<p><a href="/operator/positions">The netting picture</a>.</p>
            <h2>Recent cycles</h2>\(cycles)
            <h2>Rejections</h2>\(rejected)\(rejectedFiles)
            <h2>Webhook deliveries failing</h2>\(webhooks)
            <h2>Key expiries coming</h2>\(keys)
            <h2>Programme performance</h2>\(totals)\(referrals(p, d.network))\(tiers)\(months)
            """
    }

    /// The referral line of the programme figures: per funding issuer, all months together,
    /// links, bonuses and their net cost in points and money (`ReferralReport`); nothing for
    /// a network that never ran a referral programme.
    static func referrals(_ p: ProgrammePerformance, _ network: Network) -> String {
        guard network.referrals != nil || !p.referrals.isEmpty else { return "" }
        return table(
            "Referral bonuses per funding issuer (all time)",
            ["Issuer", "Referrals", "Bonuses paid", "Points paid", "Taken back", "Net points", "Net cost"],
            p.referrals.map {
                [
                    $0.issuer.rawValue, String($0.referrals), String($0.bonusesPaid), Points.grouped($0.pointsPaid),
                    Points.grouped($0.pointsTakenBack), Points.grouped($0.netPoints), $0.netCost?.description ?? "–",
                ]
            },
            numeric: [1, 2, 3, 4, 5, 6]
        )
    }

    static func lookUpForm(number: String) -> String {
        """
        <form method="get" action="/operator/member">
        <label for="number">Member number</label>
        <input id="number" name="number" inputmode="numeric" autocomplete="off" value="\(escape(number))" required>
        <button type="submit">Look up</button></form>
        """
    }

    static func member(_ answer: BalanceAnswer) -> String {
        let lots = answer.issuers.flatMap { issuer in
            issuer.lots.map { [issuer.issuer, Points.grouped($0.points), $0.expiresAt] }
        }
        return """
            <h2>Member \(escape(answer.member))</h2>
            <p>Balance \(Points.grouped(answer.balance)) points (\(Points.grouped(answer.available)) available); \
            owed \(Points.grouped(answer.owed)); tier \(escape(answer.tier.name)) with \
            \(Points.grouped(answer.tier.qualifyingPoints)) qualifying points.</p>
            \(table("Open lots", ["Issuer", "Points", "Expires"], lots, numeric: [1]))
            \(table("Lots past their expiry", ["Issuer", "Points", "Expired"], answer.expired.map { [$0.issuer, Points.grouped($0.points), $0.expiresAt] }, numeric: [1]))
            """
    }
}
