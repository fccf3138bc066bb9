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
        qualifying earn was reversed in full in time, and the net cost in points.
        """

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let ledger = try context.data.open()
        let report = try ReferralReport(ledger: ledger)
        if context.json {
            Output.json(ReferralsOutput(lines: report.lines.map(ReferralsOutput.Line.init)))
            return .success
        }
        guard ledger.network.referrals != nil || !report.lines.isEmpty else {
            Output.line("The network runs no referral programme.")
            return .success
        }
        var table = TextTable(
            ["month", "issuer", "referrals", "bonuses", "points paid", "taken back", "net points"],
            numeric: [2, 3, 4, 5, 6]
        )
        for line in report.lines {
            table.add([
                line.month, line.issuer.rawValue, String(line.referrals), String(line.bonusesPaid),
                Points.grouped(line.pointsPaid), Points.grouped(line.pointsTakenBack), Points.grouped(line.netPoints),
            ])
        }
        Output.line("Referrals and referral bonus cost:")
        Output.line(table.render())
        return .success
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

            init(_ line: ReferralReport.Line) {
                month = line.month
                issuer = line.issuer.rawValue
                referrals = line.referrals
                bonusesPaid = line.bonusesPaid
                pointsPaid = line.pointsPaid
                bonusesTakenBack = line.bonusesTakenBack
                pointsTakenBack = line.pointsTakenBack
                netPoints = line.netPoints
            }
        }

        let lines: [Line]
    }
}
