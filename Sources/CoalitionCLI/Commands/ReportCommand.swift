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

/// An amount of money in `--json`: minor units, exact.
struct MinorAmount: Encodable {
    let currency: String
    let amountMinor: Int64
}

struct ReportPositionsCommand: Command {
    static let path = ["report", "positions"]
    static let summary = "current unsettled obligations, netted per currency as if a cycle closed now"
    static let synopsis = ""
    static let options: [OptionSpec] = [htmlOption]

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let ledger = try context.data.open()
        let now = Clock.now
        let report = try PositionsReport(ledger: ledger, asOf: now)
        if context.arguments.has("html") {
            try writePage(CycleReport.html(positions: report, network: ledger.network), "positions.html", context)
        } else if context.json {
            Output.json(PositionsOutput(report))
        } else {
            Output.line("Unsettled positions as of \(now): \(report.openObligations) open obligations")
            for c in report.clearings {
                Output.line("")
                Output.line(positionsTable(c))
            }
            if report.clearings.isEmpty { Output.line("Nothing to settle.") }
        }
        return .success
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

    struct PositionsOutput: Encodable {
        struct Currency: Encodable {
            let currency: String
            let grossMinor: Int64
            let netMinor: Int64
            let net: [String: Int64]
            let feesMinor: [String: Int64]
        }

        let asOf: String
        let openObligations: Int
        let currencies: [Currency]

        init(_ report: PositionsReport) {
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
}

struct ReportLiabilityCommand: Command {
    static let path = ["report", "liability"]
    static let summary = "points outstanding per issuer, their value, and breakage"
    static let synopsis = ""
    static let options: [OptionSpec] = [htmlOption]

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let ledger = try context.data.open()
        let now = Clock.now
        let report = try LiabilityReport(ledger: ledger, asOf: now)
        if context.arguments.has("html") {
            try writePage(CycleReport.html(liability: report, network: ledger.network), "liability.html", context)
        } else if context.json {
            Output.json(LiabilityOutput(report))
        } else {
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
        return .success
    }
}

extension ReportLiabilityCommand {
    struct LiabilityOutput: Encodable {
        struct Issuer: Encodable {
            let issuer: String
            let pointsOutstanding: Int64
            let breakage: Int64
            let members: Int
            let value: MinorAmount?
        }

        let asOf: String
        let issuers: [Issuer]

        init(_ report: LiabilityReport) {
            asOf = report.asOf.description
            issuers = report.lines.map { line in
                Issuer(
                    issuer: line.issuer.rawValue,
                    pointsOutstanding: line.pointsOutstanding,
                    breakage: line.breakage,
                    members: line.members,
                    value: line.value.map { MinorAmount(currency: $0.currency.code, amountMinor: $0.minorUnits) }
                )
            }
        }
    }
}
