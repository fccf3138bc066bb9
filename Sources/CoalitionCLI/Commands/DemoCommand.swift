import CoalitionKit
import Foundation

struct DemoCommand: Command {
    static let path = ["demo"]
    static let summary = "build the demo network from partners/ and seeds/, and show what it cleared"
    static let synopsis = ""
    static let options: [OptionSpec] = [
        .value("partners", "DIR", "the network definition (default ./partners)"),
        .value("seeds", "DIR", "the seed activity (default ./seeds)"),
    ]
    static let discussion = """
        Makes a fresh data directory (replacing one an earlier demo made, never any other),
        applies the seed members and partner activity, prints a summary and audits the result.
        """

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let data = context.data
        let marker = data.path(".demo")
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: data.root) {
            let isEmpty = (try? fileManager.contentsOfDirectory(atPath: data.root).isEmpty) ?? false
            guard fileManager.fileExists(atPath: marker) || isEmpty else {
                throw CoalitionError(
                    .ledgerExists,
                    "\(data.root) exists and was not made by `coalition demo`; it was left untouched. "
                        + "Pass --data with a new directory.",
                    at: Place(file: data.root)
                )
            }
            try? fileManager.removeItem(atPath: data.root)
        }
        let (network, store) = try data.create(from: context.arguments.value("partners") ?? "partners")
        _ = fileManager.createFile(atPath: marker, contents: Data("made by coalition demo\n".utf8))
        let ledger = try Ledger(network: network, store: store)
        let plan = ActivityGenerator.Plan(
            members: 200,
            records: 3_000,
            start: try Timestamp(parsing: "2026-09-01T00:00:00Z"),
            days: 70,
            seed: 2026
        )
        let (enrollments, activity) = ActivityGenerator.generate(network: network, plan: plan)
        var accepted = 0
        var rejected: [ReasonCode: Int] = [:]
        for batch in [enrollments, activity] {
            let outcomes = try ledger.apply(batch, info: BatchInfo(source: "seed", receivedAt: plan.start))
            for outcome in outcomes {
                switch outcome {
                case .accepted: accepted += 1
                case .rejected(let error): rejected[error.code, default: 0] += 1
                }
            }
        }
        let summary = try NetworkSummary(ledger: ledger)
        let audit = try Audit.run(ledger)
        printSummary(summary, network: network, accepted: accepted, rejected: rejected, audit: audit)
        return audit.isClean ? .success : .rejected
    }

    static func printSummary(
        _ summary: NetworkSummary,
        network: Network,
        accepted: Int,
        rejected: [ReasonCode: Int],
        audit: AuditReport
    ) {
        Output.line("\(network.name): \(summary.members) members, \(network.partners.count) partners")
        let rejectedText = rejected.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \($0.key)" }
        Output.line(
            "records: \(accepted) accepted, \(rejected.values.reduce(0, +)) rejected\(rejectedText.isEmpty ? "" : " (" + rejectedText.joined(separator: ", ") + ")")"
        )
        Output.line("")
        Output.line("Points outstanding by issuer:")
        var issuers = TextTable(["issuer", "points", "open lots"], numeric: [1, 2])
        for line in summary.issuers {
            issuers.add([line.issuer.rawValue, Points.grouped(line.pointsOutstanding), String(line.openLots)])
        }
        issuers.add(["total", Points.grouped(summary.issuers.reduce(0) { $0 + $1.pointsOutstanding }), ""])
        Output.line(issuers.render())
        Output.line("")
        Output.line("Obligations between partners (open, gross):")
        var obligations = TextTable(
            ["currency", "issuer pays", "redeemer", "points", "amount", "records"],
            numeric: [3, 4, 5]
        )
        for line in summary.obligations {
            obligations.add([
                line.currency.code, line.debtor.rawValue, line.creditor.rawValue, Points.grouped(line.points),
                Money.decimal(line.amount, exponent: line.currency.minorUnitExponent), String(line.count),
            ])
        }
        Output.line(obligations.render())
        Output.line("")
        if audit.isClean {
            Output.line("audit: OK: \(audit.postings) postings, hash chain intact, books balance, invariants hold")
        } else {
            Output.line("audit: FAILED")
            for problem in audit.problems { Output.line("  \(problem)") }
        }
    }
}
