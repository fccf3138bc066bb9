import CoalitionKit
import Foundation

/// Every command, in the order `coalition --help` lists them.
let commands: [any Command.Type] = [
    DemoCommand.self,
    InitCommand.self,
    PartnersListCommand.self,
    PartnersShowCommand.self,
    IngestCommand.self,
    SubmitCommand.self,
    SignCommand.self,
    VerifyCommand.self,
    KeysRotateCommand.self,
    KeysRevokeCommand.self,
    MemberShowCommand.self,
    MemberStatementCommand.self,
    MemberTransferCommand.self,
    MemberActivationCodeCommand.self,
    OperatorTokenCreateCommand.self,
    OperatorTokenListCommand.self,
    OperatorTokenRevokeCommand.self,
    TiersReviewCommand.self,
    ExpireCommand.self,
    CycleCloseCommand.self,
    CycleListCommand.self,
    CycleShowCommand.self,
    CyclePartnerCommand.self,
    ReconcileCommand.self,
    ReportPositionsCommand.self,
    ReportLiabilityCommand.self,
    ReportReferralsCommand.self,
    ReportExpiringCommand.self,
    ReportRejectedCommand.self,
    AuditCommand.self,
    ServeCommand.self,
    ClientRecordsCommand.self,
    EventsListCommand.self,
    EventsRedeliverCommand.self,
    EventsScanCommand.self,
    SeedCommand.self,
    BenchCommand.self,
    BenchAPICommand.self,
    BenchWebhooksCommand.self,
]

/// What `coalition --version` prints: the tool's version and the settlement format it speaks.
let versionText = "coalition \(CoalitionVersion.current) (settlement format \(SettlementFormat.version))"

@MainActor func topLevelHelp() -> String {
    var text = """
        coalition: the clearing network for a coalition loyalty programme

        usage: coalition COMMAND [arguments] [--data DIR] [--json]

        commands:

        """
    for command in commands {
        let name = command.path.joined(separator: " ")
        let column = max(22, name.count + 2)
        text += "  " + name.padding(toLength: column, withPad: " ", startingAt: 0) + command.summary + "\n"
    }
    text += "\nRun `coalition help COMMAND` or `coalition COMMAND --help` for a command's arguments and options;"
    text += "\n`coalition --version` for the version."
    return text
}

/// The commands of a group (`member`): their names and summaries.
@MainActor func groupHelp(_ group: String) -> String? {
    let members = commands.filter { $0.path.count > 1 && $0.path[0] == group }
    guard !members.isEmpty else { return nil }
    var text = "usage: coalition \(group) SUBCOMMAND [arguments] [options]\n\nsubcommands:\n"
    for command in members {
        let name = command.path.joined(separator: " ")
        let column = max(22, name.count + 2)
        text += "  " + name.padding(toLength: column, withPad: " ", startingAt: 0) + command.summary + "\n"
    }
    text += "\nRun `coalition help \(group) SUBCOMMAND` for a subcommand's arguments and options."
    return text
}

/// Finds the command named by the longest matching prefix of `words`.
@MainActor func resolve(_ words: [String]) -> (any Command.Type, [String])? {
    var best: (any Command.Type, [String])?
    for command in commands where words.count >= command.path.count {
        if Array(words.prefix(command.path.count)) == command.path, command.path.count > (best?.0.path.count ?? 0) {
            best = (command, Array(words.dropFirst(command.path.count)))
        }
    }
    return best
}

/// The usage error for words that name no command, with the command probably meant.
@MainActor func unknownCommand(_ words: [String]) -> CoalitionError {
    let first = words.first ?? ""
    let group = commands.filter { $0.path.first == first }
    if !group.isEmpty {
        let names = group.map { $0.path.dropFirst().joined(separator: " ") }
        let hint = words.count > 1 ? Suggestion.phrase(for: words[1], among: names, prefix: "\(first) ") : ""
        return CoalitionError(
            .usage,
            "expected one of: \(names.joined(separator: ", ")).\(hint) Run `coalition help \(first)`."
        )
    }
    let names = Set(commands.map { $0.path[0] }).sorted() + ["help"]
    let hint = Suggestion.phrase(for: first, among: names)
    return CoalitionError(.usage, "unknown command '\(first)'.\(hint) Run `coalition --help` for the list.")
}

/// `coalition help [COMMAND…]`: the help of a command, a group, or all of them.
@MainActor func help(_ topic: [String]) -> (String, ExitCode) {
    if topic.isEmpty { return (topLevelHelp(), .success) }
    if let (command, rest) = resolve(topic), rest.isEmpty { return (command.help, .success) }
    if topic.count == 1, let text = groupHelp(topic[0]) { return (text, .success) }
    return (unknownCommand(topic).message, .usage)
}

/// `--version --json`.
struct VersionOutput: Encodable {
    let version: String
    let settlementFormat: Int
}

/// `--help --json`: the help text of a command or group ("" for all of them).
struct HelpOutput: Encodable {
    let topic: String
    let help: String
}

/// Reports `error` as the exit code says: text on standard error, and with `--json` also a
/// JSON object on standard output.
@MainActor func fail(_ error: CoalitionError, command: String?, json: Bool) -> Int32 {
    let exit = ExitCode.forError(error)
    if json { Output.json(ErrorOutput(error, command: command, exitCode: exit)) }
    Output.error("coalition\(command.map { " \($0)" } ?? ""): \(error)")
    return exit.rawValue
}

@MainActor func main() -> Int32 {
    let words = Array(CommandLine.arguments.dropFirst())
    let json = Arguments.asksForJSON(words)
    if words.isEmpty || words == ["--help"] || words == ["-h"] {
        Output.line(topLevelHelp())
        return words.isEmpty ? ExitCode.usage.rawValue : 0
    }
    if words.first == "--version" || words.first == "version", words.dropFirst().allSatisfy({ $0 == "--json" }) {
        if json {
            Output.json(VersionOutput(version: CoalitionVersion.current, settlementFormat: SettlementFormat.version))
        } else {
            Output.line(versionText)
        }
        return 0
    }
    if words[0] == "help" || Arguments.asksForHelp(words) {
        // `help member show`, `member show -h`, `-h member show 7`: help wherever it is asked.
        let topic = words.filter { $0 != "help" && $0 != "-h" && $0 != "--help" }
        let command = resolve(topic)?.0
        let (text, exit) =
            command.map { ($0.help, ExitCode.success) } ?? help(Array(topic.prefix { !$0.hasPrefix("-") }))
        guard exit == .success else { return fail(CoalitionError(.usage, text), command: "help", json: json) }
        if json {
            let name =
                command?.path.joined(separator: " ") ?? topic.prefix { !$0.hasPrefix("-") }.joined(separator: " ")
            Output.json(HelpOutput(topic: name, help: text))
        } else {
            Output.line(text)
        }
        return 0
    }
    guard let (command, rest) = resolve(words) else {
        return fail(unknownCommand(words), command: nil, json: json)
    }
    let name = command.path.joined(separator: " ")
    do {
        if json && !command.acceptsJSON {
            throw CoalitionError(.usage, "coalition \(name) prints text only: --json is not supported here")
        }
        let arguments = try Arguments(rest, options: command.options, usage: command.usage)
        let context = Context(arguments: arguments)
        defer { context.opened.saveStates() }
        return try command.run(context).rawValue
    } catch let error as CoalitionError {
        return fail(error, command: name, json: json)
    } catch {
        return fail(CoalitionError(.internalError, error.localizedDescription), command: name, json: json)
    }
}

exit(main())
