import CoalitionKit
import Foundation

struct CyclePartnerCommand: Command {
    static let path = ["cycle", "partner"]
    static let summary = "a partner's page for a closed cycle, and the CSV of the obligations behind it"
    static let synopsis = "NUMBER PARTNER"
    static let discussion = """
        Writes DIR/reports/cycle-NNNNNN-PARTNER.html: per currency, what each counterparty owes
        the partner and what it owes each (gross), its clearing fee, its net, and the settlement
        instructions it takes part in; and DIR/reports/cycle-NNNNNN-PARTNER.csv: every
        obligation of the cycle the partner pays or is paid, one a line, whose amounts add up
        to the page's. Prints both paths. For the partner's finance team, beside its signed
        statement.
        """

    struct Written: Encodable {
        let cycle: Int64
        let partner: String
        let page: String
        let csv: String
        let obligations: Int
    }

    static func run(_ context: Context) throws -> ExitCode {
        let words = try positional(context, count: 2)
        let ledger = try context.data.open()
        guard let number = Int64(words[0]), let cycle = try ledger.store.cycles().first(where: { $0.number == number })
        else {
            throw CoalitionError(.usage, "no closed cycle '\(words[0])': see `coalition cycle list`")
        }
        let partner = try ledger.network.partner(named: words[1])
        let report = PartnerCycleReport(
            partner: partner.id,
            cycle: cycle,
            obligations: try ledger.store.obligations(cycle: number)
        )
        let page = context.data.path(
            "reports",
            PartnerCycleReport.fileName(partner: partner.id, cycle: number, extension: "html")
        )
        let csv = context.data.path(
            "reports",
            PartnerCycleReport.fileName(partner: partner.id, cycle: number, extension: "csv")
        )
        do {
            try report.html(network: ledger.network).write(toFile: page, atomically: true, encoding: .utf8)
            try report.csv().write(toFile: csv, atomically: true, encoding: .utf8)
        } catch {
            throw CoalitionError(
                .io,
                "cannot write the partner's page: \(error.localizedDescription)",
                at: Place(file: page)
            )
        }
        if context.json {
            Output.json(
                Written(
                    cycle: number,
                    partner: partner.id.rawValue,
                    page: page,
                    csv: csv,
                    obligations: report.obligations.count
                )
            )
        } else {
            Output.line(page)
            Output.line(csv)
        }
        return .success
    }
}
