import CoalitionFiles
import CoalitionKit
import Foundation

struct ReconcileCommand: Command {
    static let path = ["reconcile"]
    static let summary = "match a partner's signed view of a cycle against the ledger and report the breaks"
    static let synopsis = "FILE"
    static let discussion = """
        FILE is a signed COALITION-RECONCILIATION file: the cross-brand redemptions the partner
        expects to be paid for in the cycle its header names, by record id, currency and amount.
        Reports each break: in the ledger but not the file, in the file but not the ledger,
        amount or currency different, in a different cycle, listed twice; and the totals
        matched and unmatched. Exits 1 if there is any break.
        """

    static func run(_ context: Context) throws -> ExitCode {
        let file = try positional(context, count: 1)[0]
        let ledger = try context.data.open()
        let report = try ElapsedLine.around("reconciling") {
            try Reconciliation.reconcile(path: file, ledger: ledger) { try context.data.keyRing(for: $0) }
        }
        if context.json {
            Output.json(ReconciliationAnswer(report), slashes: .escaped)
        } else {
            print(report)
        }
        return report.breaks.isEmpty ? .success : .rejected
    }

    static func print(_ report: ReconciliationReport) {
        func money(_ sums: [Currency: Int64]) -> String {
            sums.isEmpty
                ? "0"
                : sums.sorted { $0.key < $1.key }.map { Money($0.value, $0.key).description }.joined(separator: ", ")
        }
        Output.line(
            "\(report.partner) reconciles cycle \(report.cycle): \(report.matchedRecords) records matched (\(money(report.matchedTotals))), "
                + "\(report.breaks.count) break\(report.breaks.count == 1 ? "" : "s")"
        )
        guard !report.breaks.isEmpty else { return }
        var table = TextTable(["break", "record", "line", "ledger", "partner"])
        for b in report.breaks {
            var ledger = b.ledgerAmount?.description ?? "-"
            if b.kind == .differentCycle { ledger += b.ledgerCycle.map { " (cycle \($0))" } ?? " (not in a cycle yet)" }
            table.add([
                b.kind.rawValue, b.recordID, b.line.map(String.init) ?? "-", ledger,
                b.partnerAmount?.description ?? "-",
            ])
        }
        Output.line(table.render())
        Output.line("  unmatched: ledger \(money(report.unmatchedLedger)); partner \(money(report.unmatchedPartner))")
    }
}
