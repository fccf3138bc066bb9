import CoalitionKit
import Foundation

/// `--html` writes the page into DIR/reports/ and prints its path.
private let htmlOption = OptionSpec.flag(
    "html",
    "write a self-contained HTML page into DIR/reports/ and print its path"
)

/// Writes a report page into DIR/reports/ and prints its path.
private func writePage(_ html: String, _ name: String, _ context: Context) throws {
    let path = context.data.path("reports", name)
    try html.write(toFile: path, atomically: true, encoding: .utf8)
    Output.line(path)
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
            Output.json([
                "asOf": now.description, "openObligations": report.openObligations,
                "currencies": report.clearings.map { c -> [String: Any] in
                    [
                        "currency": c.currency.code, "grossMinor": c.grossTotal, "netMinor": c.netTotal,
                        "net": Dictionary(uniqueKeysWithValues: c.net.map { ($0.key.description, $0.value) }),
                    ]
                },
            ])
        } else {
            Output.line("Unsettled positions as of \(now): \(report.openObligations) open obligations")
            for c in report.clearings {
                let e = c.currency.minorUnitExponent
                Output.line("")
                Output.line(
                    "\(c.currency): gross \(Money.decimal(c.grossTotal, exponent: e)), net \(Money.decimal(c.netTotal, exponent: e))"
                )
                var table = TextTable(["participant", "owes (gross)", "is due (gross)", "net"], numeric: [1, 2, 3])
                for (participant, net) in c.net.sorted(by: { $0.key < $1.key }) {
                    var owed = ""
                    var due = ""
                    if case .partner(let id) = participant {
                        owed = Money.decimal(c.grossOwed[id] ?? 0, exponent: e)
                        due = Money.decimal(c.grossDue[id] ?? 0, exponent: e)
                    }
                    table.add([participant.description, owed, due, Money.decimal(net, exponent: e)])
                }
                Output.line(table.render())
            }
            if report.clearings.isEmpty { Output.line("Nothing to settle.") }
        }
        return .success
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
            Output.json([
                "asOf": now.description,
                "issuers": report.lines.map { line -> [String: Any] in
                    var object: [String: Any] = [
                        "issuer": line.issuer.rawValue, "pointsOutstanding": line.pointsOutstanding,
                        "breakage": line.breakage, "members": line.members,
                    ]
                    if let value = line.value {
                        object["value"] = ["currency": value.currency.code, "amountMinor": value.minorUnits]
                    }
                    return object
                },
            ])
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
