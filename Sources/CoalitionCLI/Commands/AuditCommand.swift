import CoalitionKit
import CoalitionPostgreSQL
import CoalitionSQLite

struct AuditCommand: Command {
    static let path = ["audit"]
    static let summary = "check the ledger: hash chain, balanced postings, balances, invariants"
    static let synopsis = ""
    static let discussion = """
        Walks the whole journal: recomputes every posting's link in the hash chain, checks each
        posting balances per unit, adds the journal up and compares it with the balances and
        lots the ledger holds, checks obligations against the money accounts and the
        invariants of the design. A ledger opened from its saved state file is compared with
        its tables too. Exits 1 and lists every fault if anything is wrong.
        """

    struct AuditOutput: Encodable {
        let ok: Bool
        let postings: Int64
        let head: String
        let problems: [String]
    }

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let ledger = try context.data.open()
        var progress = ProgressLine(label: "audit")
        let total = ledger.state.lastSeq
        var report = try Audit.run(ledger) { progress.update($0, of: total, unit: "postings") }
        progress.finish()
        if let store = ledger.store as? SQLiteStore {
            report.problems += try store.stateFileProblems(ledger.state)
            report.problems += try store.derivedTableProblems(tiers: ledger.network.tiers)
        }
        if let store = ledger.store as? PostgreSQLStore {
            report.problems += try store.snapshotProblems(ledger.state)
        }
        if context.json {
            Output.json(
                AuditOutput(
                    ok: report.isClean,
                    postings: report.postings,
                    head: Hex.encode(report.headHash),
                    problems: report.problems
                )
            )
        } else if report.isClean {
            Output.line(
                "audit: OK: \(report.postings) postings, hash chain intact (head \(Hex.encode(report.headHash).prefix(16))…), books balance, invariants hold"
            )
        } else {
            Output.line(
                "audit: FAILED: \(report.problems.count) problem\(report.problems.count == 1 ? "" : "s") in \(report.postings) postings"
            )
            for problem in report.problems { Output.line("  AUDIT_FAILED: \(problem)") }
        }
        return report.isClean ? .success : .rejected
    }
}
