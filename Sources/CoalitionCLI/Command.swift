import CoalitionKit
import CoalitionSQLite
import Foundation

/// What a command needs besides its arguments.
struct Context {
    let arguments: Arguments
    /// The ledgers the command opens; `main` saves their state when the command ends.
    let opened = OpenedLedgers()
    var data: DataDirectory { DataDirectory(arguments.value("data") ?? "coalition-data", opened: opened) }

    /// The ledger opened to write: see `DataDirectory.openForWriting`.
    func openForWriting() throws -> Ledger { try data.openForWriting(waitSeconds: try waitSeconds) }
    var json: Bool { arguments.has("json") }
    /// How long a writing command waits for another writer (`--wait`, default 0: refuse at once).
    var waitSeconds: Int {
        get throws { try arguments.integer("wait", default: 0, in: 0...86_400) }
    }
}

/// The option of every command that writes to the ledger.
let waitOption = OptionSpec.value(
    "wait",
    "SECONDS",
    "wait up to SECONDS for another process writing to the ledger (default 0: LEDGER_BUSY at once)"
)

/// The ledgers a command opened. When the command ends, each saves its state beside its
/// store, so the next command opens the ledger from that file instead of the tables.
final class OpenedLedgers {
    private var ledgers: [Ledger] = []
    /// The writer lock of a command that writes: held until its state is saved.
    private var locks: [WriterLock] = []

    func add(_ ledger: Ledger) { ledgers.append(ledger) }

    func hold(_ lock: WriterLock) { locks.append(lock) }

    /// Saves each ledger's state. A failure costs only the next open's speed, so it is a
    /// warning, not the command's failure.
    func saveStates() {
        for ledger in ledgers {
            do {
                try ledger.saveState()
            } catch {
                Output.error(
                    "coalition: warning: the ledger's state was not saved, the next open reads the tables: \(error)"
                )
            }
        }
        ledgers.removeAll()
        for lock in locks { lock.release() }
        locks.removeAll()
    }
}

/// A `coalition` subcommand.
protocol Command {
    /// The words that name it: `["member", "show"]`.
    static var path: [String] { get }
    static var summary: String { get }
    /// The arguments after the command's name: `NUMBER`.
    static var synopsis: String { get }
    static var options: [OptionSpec] { get }
    /// More help text, shown by `--help`.
    static var discussion: String { get }
    /// Whether the command answers `--json` with one JSON object; one that does not refuses
    /// the option rather than print text under it.
    static var acceptsJSON: Bool { get }
    static func run(_ context: Context) throws -> ExitCode
}

extension Command {
    static var options: [OptionSpec] { [] }
    static var discussion: String { "" }
    static var acceptsJSON: Bool { true }
    static var usage: String {
        "coalition \(path.joined(separator: " ")) \(synopsis)".trimmingCharacters(in: .whitespaces)
    }

    static var help: String {
        var text = "\(summary)\n\nusage: \(usage) [options]\n"
        if !discussion.isEmpty { text += "\n\(discussion)\n" }
        text += "\noptions (each may stand anywhere on the line; -h is --help):\n"
        for option in options + globalOptions where acceptsJSON || option.name != "json" {
            let left = "--\(option.name)" + (option.value.map { " \($0)" } ?? "")
            text +=
                "  " + left.padding(toLength: max(22, left.count + 2), withPad: " ", startingAt: 0) + option.help + "\n"
        }
        text += "\nexit codes: 0 success, 1 the work was done but something was rejected or found wrong,\n"
        text += "2 the command line is wrong, 3 the input or data directory is wrong, 4 internal or storage failure"
        return text
    }

    /// The positional arguments, checked to be exactly `count`.
    static func positional(_ context: Context, count: Int) throws -> [String] {
        let words = context.arguments.positional
        guard words.count == count else {
            throw CoalitionError(
                .usage,
                "expected \(count) argument\(count == 1 ? "" : "s"), got \(words.count)\nusage: \(usage)"
            )
        }
        return words
    }
}

/// The documented exit codes of `coalition`.
enum ExitCode: Int32 {
    case success = 0
    /// The command ran, but rejected something or found something wrong (audit).
    case rejected = 1
    case usage = 2
    /// Bad input, configuration or data directory.
    case dataError = 3
    case internalError = 4

    static func forError(_ error: CoalitionError) -> ExitCode {
        switch error.code {
        case .usage: .usage
        case .storeFailure, .io, .crypto, .internalError: .internalError
        case .auditFailed: .rejected
        default: .dataError
        }
    }
}
