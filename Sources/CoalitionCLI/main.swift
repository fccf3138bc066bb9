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
    MemberShowCommand.self,
    MemberStatementCommand.self,
    MemberTransferCommand.self,
    TiersReviewCommand.self,
    ExpireCommand.self,
    CycleCloseCommand.self,
    CycleListCommand.self,
    CycleShowCommand.self,
    ReconcileCommand.self,
    ReportPositionsCommand.self,
    ReportLiabilityCommand.self,
    ReportExpiringCommand.self,
    AuditCommand.self,
    ServeCommand.self,
    SeedCommand.self,
    BenchCommand.self,
]

@MainActor func topLevelHelp() -> String {
    var text = """
        coalition: the clearing network for a coalition loyalty programme

        usage: coalition COMMAND [arguments] [--data DIR] [--json]

        commands:

        """
    for command in commands {
        let name = command.path.joined(separator: " ")
        text += "  " + name.padding(toLength: 22, withPad: " ", startingAt: 0) + command.summary + "\n"
    }
    text += "\nRun `coalition COMMAND --help` for a command's arguments and options."
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

@MainActor func main() -> Int32 {
    let words = Array(CommandLine.arguments.dropFirst())
    if words.isEmpty || words == ["--help"] || words == ["help"] || words == ["-h"] {
        Output.line(topLevelHelp())
        return words.isEmpty ? ExitCode.usage.rawValue : 0
    }
    guard let (command, rest) = resolve(words) else {
        let group = commands.filter { $0.path.first == words[0] }
        if !group.isEmpty {
            Output.error(
                "coalition \(words[0]): expected one of: \(group.map { $0.path.dropFirst().joined(separator: " ") }.joined(separator: ", "))"
            )
        } else {
            Output.error("coalition: unknown command '\(words[0])'. Run `coalition --help` for the list.")
        }
        return ExitCode.usage.rawValue
    }
    do {
        let arguments = try Arguments(rest, options: command.options, usage: command.usage)
        if arguments.has("help") {
            Output.line(command.help)
            return 0
        }
        let context = Context(arguments: arguments)
        defer { context.opened.saveStates() }
        return try command.run(context).rawValue
    } catch let error as CoalitionError {
        Output.error("coalition \(command.path.joined(separator: " ")): \(error)")
        return ExitCode.forError(error).rawValue
    } catch {
        Output.error("coalition \(command.path.joined(separator: " ")): INTERNAL: \(error.localizedDescription)")
        return ExitCode.internalError.rawValue
    }
}

exit(main())
