import CoalitionKit

struct ReportReferralsCommand: Command {
    static let path = ["report", "referrals"]
    static let summary = "referrals and referral bonus cost per month and funding issuer"
    static let synopsis = ""
    static let options: [OptionSpec] = []
    static let discussion = """
        Per calendar month (UTC) and issuer: members linked by a referral code (under the
        partner whose record enrolled them), bonuses paid and their points (under the issuer
        that funds them: the earning partner or COALITION), points taken back when a
        qualifying earn was reversed in full in time, and the net cost in points and in the
        issuer's money: a partner's points at its redemption value, COALITION's at the
        network's referrals.coalitionValue, each bonus at the value in force when it was paid.
        Then the same per issuer over all months.
        """

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let ledger = try context.data.open()
        let report = try ReferralReport(ledger: ledger)
        if context.json {
            Output.json(
                ReferralsOutput(
                    lines: report.lines.map(ReferralsOutput.Line.init),
                    totals: report.totals.map(ReferralsOutput.Line.init)
                )
            )
            return .success
        }
        guard ledger.network.referrals != nil || !report.lines.isEmpty else {
            Output.line("The network runs no referral programme.")
            return .success
        }
        Output.line("Referrals and referral bonus cost:")
        Output.line(table(report.lines, monthly: true))
        Output.line("")
        Output.line("All months, per funding issuer:")
        Output.line(table(report.totals, monthly: false))
        return .success
    }

    /// One row per line (with its month first if `monthly`); `net cost` is `-` where the
    /// issuer's points have no value.
    static func table(_ lines: [ReferralReport.Line], monthly: Bool) -> String {
        let columns = ["issuer", "referrals", "bonuses", "points paid", "taken back", "net points", "net cost"]
        let first = monthly ? 1 : 0
        var table = TextTable((monthly ? ["month"] : []) + columns, numeric: Set((first + 1)...(first + 6)))
        for line in lines {
            table.add(
                (monthly ? [line.month] : []) + [
                    line.issuer.rawValue, String(line.referrals), String(line.bonusesPaid),
                    Points.grouped(line.pointsPaid), Points.grouped(line.pointsTakenBack),
                    Points.grouped(line.netPoints), line.netCost?.description ?? "-",
                ]
            )
        }
        return table.render()
    }

    struct ReferralsOutput: Encodable {
        struct Line: Encodable {
            let month: String
            let issuer: String
            let referrals: Int
            let bonusesPaid: Int
            let pointsPaid: Int64
            let bonusesTakenBack: Int
            let pointsTakenBack: Int64
            let netPoints: Int64
            /// The paid, taken-back and net points in the issuer's money (null: not valued).
            let costPaid: MinorAmount?
            let costTakenBack: MinorAmount?
            let netCost: MinorAmount?

            init(_ line: ReferralReport.Line) {
                month = line.month
                issuer = line.issuer.rawValue
                referrals = line.referrals
                bonusesPaid = line.bonusesPaid
                pointsPaid = line.pointsPaid
                bonusesTakenBack = line.bonusesTakenBack
                pointsTakenBack = line.pointsTakenBack
                netPoints = line.netPoints
                let currency = line.isValued ? line.currency : nil
                costPaid = currency.map { MinorAmount(Money(line.costPaid, $0)) }
                costTakenBack = currency.map { MinorAmount(Money(line.costTakenBack, $0)) }
                netCost = line.netCost.map(MinorAmount.init)
            }
        }

        let lines: [Line]
        /// All months together, per issuer (`month` is `all`).
        let totals: [Line]
    }
}
