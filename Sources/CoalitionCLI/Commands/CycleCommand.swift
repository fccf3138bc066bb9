import CoalitionFiles
import CoalitionKit
import Foundation

struct CycleCloseCommand: Command {
    static let path = ["cycle", "close"]
    static let summary = "close a clearing cycle: net the obligations up to a cut-off, write statements"
    static let synopsis = "--through DATE"
    static let options: [OptionSpec] = [
        .value("through", "DATE", "the cut-off, inclusive: YYYY-MM-DD (the whole day, UTC) or YYYY-MM-DDTHH:MM:SSZ"),
        waitOption,
    ]
    static let discussion = """
        Every obligation not yet in a cycle and dated at or before the cut-off joins the cycle;
        later ones wait for the next. Obligations are netted per currency into one amount per
        partner; settlement instructions are given in both forms (through the clearing house,
        and the fewest payments between partners). Each partner's signed statement goes to
        DIR/outbox/, the cycle's HTML report to DIR/reports/. A closed cycle never changes:
        closing a cut-off not after the last one does nothing new.
        """

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        guard let text = context.arguments.value("through") else {
            throw CoalitionError(.usage, "--through DATE is required\nusage: \(usage)")
        }
        let through = try CycleCloseCommand.cutoff(text)
        let now = Clock.now
        guard through <= now.adding(seconds: CycleCloseCommand.clockSkewSeconds) else {
            throw CoalitionError(
                .cutoffInFuture,
                "the cut-off \(through) is in the future (now \(now)): a cycle closes only what has happened, "
                    + "and no later cycle could close before it; a date means the end of that day"
            )
        }
        let ledger = try context.openForWriting()
        // A cycle committed by a run that died before its files were written gets them now.
        for number in try republishMissing(ledger: ledger, data: context.data) where !context.json {
            Output.line("Published the missing statements and report of cycle \(number).")
        }
        switch try ElapsedLine.around(
            "closing the cycle",
            { try CycleCloser.close(ledger, through: through, now: now) }
        ) {
        case .alreadyClosed(let last):
            if context.json {
                Output.json(NothingClosed(lastCycle: last.number, through: last.through.description), slashes: .escaped)
            } else {
                Output.line("Nothing new: cycle \(last.number) already closed through \(last.through).")
            }
        case .closed(let cycle):
            try Failpoint.reach("cycle.after-commit")
            let files = try publish(cycle, ledger: ledger, data: context.data)
            if context.json {
                var answer = CycleAnswer(cycle)
                answer.statements = files.statements
                answer.report = files.report
                Output.json(answer, slashes: .escaped)
            } else {
                CycleShowCommand.print(cycle)
                Output.line("")
                Output.line("Statements: \(files.statements.count) in \(context.data.path("outbox"))/")
                Output.line("Report: \(files.report)")
            }
        }
        return .success
    }

    /// What `cycle close --json` prints when every record is in a closed cycle already.
    struct NothingClosed: Encodable {
        let closed = false
        let lastCycle: Int64
        let through: String
    }

    /// How far ahead of this machine's clock a cut-off may be: clocks of the machines that
    /// date the records differ by this much.
    static let clockSkewSeconds: Int64 = 300

    /// Writes the statements and report of every closed cycle whose report is missing (the
    /// report is written last, so a cycle with its report has all its files); returns their
    /// numbers. The bytes are those the close would have written: a statement is made from
    /// the stored cycle and signed under the key valid when it closed.
    static func republishMissing(ledger: Ledger, data: DataDirectory) throws -> [Int64] {
        var published: [Int64] = []
        for cycle in try ledger.store.cycles()
        where !FileManager.default.fileExists(atPath: data.path("reports", CycleReport.fileName(cycle.number))) {
            _ = try publish(cycle, ledger: ledger, data: data)
            published.append(cycle.number)
        }
        return published
    }

    /// A date means its whole UTC day; a time is taken as it is.
    static func cutoff(_ text: String) throws -> Timestamp {
        do {
            let time = try Timestamp(parsing: text, allowingDate: true)
            return text.count == 10 ? time.adding(seconds: Timestamp.secondsPerDay - 1) : time
        } catch {
            throw CoalitionError(.usage, "--through takes YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, not '\(text)'")
        }
    }

    /// Writes every partner's statement and the cycle's HTML report.
    static func publish(
        _ cycle: ClearingCycle,
        ledger: Ledger,
        data: DataDirectory
    ) throws -> (
        statements: [String], report: String
    ) {
        var statements: [String] = []
        let obligations = try ledger.store.obligations(cycle: cycle.number)
        for partner in ledger.network.sortedPartners {
            let path = data.path("outbox", Statement.fileName(for: partner.id, cycle: cycle.number))
            try Statement.write(
                for: partner.id,
                cycle: cycle,
                obligations: obligations,
                ring: try data.keyRing(for: partner),
                to: path
            )
            statements.append(path)
        }
        try Failpoint.reach("cycle.before-report")
        let report = data.path("reports", CycleReport.fileName(cycle.number))
        try FileIntake.writeAtomically(Data(CycleReport.html(cycle, network: ledger.network).utf8), to: report)
        return (statements, report)
    }
}

struct CycleListCommand: Command {
    static let path = ["cycle", "list"]
    static let summary = "list the closed clearing cycles"
    static let synopsis = ""

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let ledger = try context.data.open()
        let cycles = try ledger.store.cycles()
        if context.json {
            Output.json(CycleListAnswer(cycles), slashes: .escaped)
            return .success
        }
        if cycles.isEmpty {
            Output.line("No cycle closed yet: `coalition cycle close --through DATE`.")
            return .success
        }
        var table = TextTable(
            ["cycle", "through", "closed", "obligations", "gross", "net", "netted"],
            numeric: [0, 3]
        )
        for cycle in cycles {
            for clearing in cycle.clearings {
                let e = clearing.currency.minorUnitExponent
                table.add([
                    String(cycle.number), cycle.through.description, cycle.closedAt.description,
                    String(cycle.obligationCount),
                    Money.decimal(clearing.grossTotal, exponent: e) + " \(clearing.currency)",
                    Money.decimal(clearing.netTotal, exponent: e) + " \(clearing.currency)",
                    clearing.nettingEfficiencyBasisPoints.map(CycleShowCommand.percent) ?? "-",
                ])
            }
            if cycle.clearings.isEmpty {
                table.add([
                    String(cycle.number), cycle.through.description, cycle.closedAt.description, "0", "-", "-", "-",
                ])
            }
        }
        Output.line(table.render(indent: ""))
        return .success
    }
}

struct CycleShowCommand: Command {
    static let path = ["cycle", "show"]
    static let summary = "show a closed cycle: gross matrix, net positions, settlement instructions"
    static let synopsis = "NUMBER"

    static func run(_ context: Context) throws -> ExitCode {
        let text = try positional(context, count: 1)[0]
        let ledger = try context.data.open()
        guard let number = Int64(text), let cycle = try ledger.store.cycles().first(where: { $0.number == number })
        else {
            throw CoalitionError(.usage, "no closed cycle '\(text)': see `coalition cycle list`")
        }
        if context.json { Output.json(CycleAnswer(cycle), slashes: .escaped) } else { print(cycle) }
        return .success
    }

    static func percent(_ basisPoints: Int64) -> String {
        "\(basisPoints / 100).\(String(format: "%02d", basisPoints % 100))%"
    }

    static func print(_ cycle: ClearingCycle) {
        Output.line(
            "Cycle \(cycle.number): \(cycle.obligationCount) obligations through \(cycle.through), closed \(cycle.closedAt)"
        )
        for clearing in cycle.clearings {
            let e = clearing.currency.minorUnitExponent
            func money(_ v: Int64) -> String { Money.decimal(v, exponent: e) }
            Output.line("")
            let efficiency = clearing.nettingEfficiencyBasisPoints.map(percent) ?? "-"
            Output.line(
                "\(clearing.currency): gross \(money(clearing.grossTotal)), net \(money(clearing.netTotal)), netting efficiency \(efficiency)"
            )
            var positions = TextTable(
                ["participant", "owes (gross)", "is due (gross)", "fee", "net"],
                numeric: [1, 2, 3, 4]
            )
            let owed = clearing.grossOwed
            let due = clearing.grossDue
            for (participant, net) in clearing.net.sorted(by: { $0.key < $1.key }) {
                var row = [participant.description, "", "", "", money(net)]
                if case .partner(let id) = participant {
                    row[1] = money(owed[id] ?? 0)
                    row[2] = money(due[id] ?? 0)
                    row[3] = money(clearing.fees[id] ?? 0)
                }
                positions.add(row)
            }
            Output.line(positions.render())
            Output.line("  settlement, fewest payments between participants:")
            for payment in clearing.fewestPayments {
                Output.line("    \(payment.payer) pays \(payment.payee) \(money(payment.amount)) \(clearing.currency)")
            }
        }
        if cycle.clearings.isEmpty { Output.line("No obligations: nothing to settle.") }
    }
}
