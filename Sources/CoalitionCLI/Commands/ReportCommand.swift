import CoalitionKit
import Foundation

/// `--html` writes the page into DIR/reports/ and prints its path.
private let htmlOption = OptionSpec.flag(
    "html",
    "write a self-contained HTML page into DIR/reports/ and print its path"
)

/// Writes a report page into DIR/reports/ and prints its path (with `--json`, as
/// `{"page": path}`).
func writePage(_ html: String, _ name: String, _ context: Context) throws {
    let path = context.data.path("reports", name)
    try html.write(toFile: path, atomically: true, encoding: .utf8)
    if context.json { Output.json(PageOutput(page: path)) } else { Output.line(path) }
}

/// What `--html --json` prints: where the page is.
struct PageOutput: Encodable {
    let page: String
}

extension Command {
    /// Runs a report command: the report as of now, printed as the options ask: with `--html`
    /// a page written into DIR/reports/ as `page` (its path printed), with `--json` its answer,
    /// else as text.
    static func runReport<Report, Answer: Encodable>(
        _ context: Context,
        page: String,
        making make: (Ledger, Timestamp) throws -> Report,
        html: (Report, Network) -> String,
        answer: (Report) -> Answer,
        text: (Report, Timestamp) -> Void
    ) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let ledger = try context.data.open()
        let now = Clock.now
        let report = try make(ledger, now)
        if context.arguments.has("html") {
            try writePage(html(report, ledger.network), page, context)
        } else if context.json {
            Output.json(answer(report))
        } else {
            text(report, now)
        }
        return .success
    }
}

struct ReportPositionsCommand: Command {
    static let path = ["report", "positions"]
    static let summary = "current unsettled obligations, netted per currency as if a cycle closed now"
    static let synopsis = ""
    static let options: [OptionSpec] = [htmlOption]

    static func run(_ context: Context) throws -> ExitCode {
        try runReport(
            context,
            page: "positions.html",
            making: { try PositionsReport(ledger: $0, asOf: $1) },
            html: { CycleReport.html(positions: $0, network: $1) },
            answer: PositionsAnswer.init,
            text: { report, now in
                Output.line("Unsettled positions as of \(now): \(report.openObligations) open obligations")
                for c in report.clearings {
                    Output.line("")
                    Output.line(positionsTable(c))
                }
                if report.clearings.isEmpty { Output.line("Nothing to settle.") }
            }
        )
    }
}

extension ReportPositionsCommand {
    /// A currency's positions: each partner's gross owed and due, its clearing fee and its
    /// net (due − owed − fee), the clearing house's fees, and the totals, so every row and
    /// the sum check on paper.
    static func positionsTable(_ c: CurrencyClearing) -> String {
        let e = c.currency.minorUnitExponent
        func money(_ value: Int64) -> String { Money.decimal(value, exponent: e) }
        var text = "\(c.currency): gross \(money(c.grossTotal)), net \(money(c.netTotal))\n"
        var table = TextTable(["participant", "owes (gross)", "is due (gross)", "fee", "net"], numeric: [1, 2, 3, 4])
        var totals = (owed: Int64(0), due: Int64(0), fee: Int64(0), net: Int64(0))
        for (participant, net) in c.net.sorted(by: { $0.key < $1.key }) {
            var row = [participant.description, "", "", "", money(net)]
            if case .partner(let id) = participant {
                let (owed, due, fee) = (c.grossOwed[id] ?? 0, c.grossDue[id] ?? 0, c.fees[id] ?? 0)
                row[1] = money(owed)
                row[2] = money(due)
                row[3] = money(fee)
                totals.owed += owed
                totals.due += due
                totals.fee += fee
            } else {
                row[3] = "+" + money(net)
            }
            totals.net += net
            table.add(row)
        }
        table.add(["total", money(totals.owed), money(totals.due), money(totals.fee), money(totals.net)])
        text += table.render()
        text += "\n  net = is due − owes − fee; \(Participant.clearingHouse) receives the fees; the nets sum to zero."
        return text
    }
}

struct ReportLiabilityCommand: Command {
    static let path = ["report", "liability"]
    static let summary = "points outstanding per issuer, their value, and breakage"
    static let synopsis = ""
    static let options: [OptionSpec] = [htmlOption]

    static func run(_ context: Context) throws -> ExitCode {
        try runReport(
            context,
            page: "liability.html",
            making: { try LiabilityReport(ledger: $0, asOf: $1) },
            html: { CycleReport.html(liability: $0, network: $1) },
            answer: LiabilityAnswer.init,
            text: { report, now in
                var table = TextTable(
                    ["issuer", "points outstanding", "value", "breakage", "members"],
                    numeric: [1, 2, 3, 4]
                )
                for line in report.lines {
                    table.add([
                        line.issuer.rawValue, Points.grouped(line.pointsOutstanding), line.value?.description ?? "-",
                        Points.grouped(line.breakage), String(line.members),
                    ])
                }
                Output.line("Points liability as of \(now):")
                Output.line(table.render())
            }
        )
    }
}
