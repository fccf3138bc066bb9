import CoalitionKit

struct InitCommand: Command {
    static let path = ["init"]
    static let summary = "create a data directory and an empty ledger for a network"
    static let synopsis = ""
    static let options: [OptionSpec] = [
        .value("partners", "DIR", "the network definition to use (default ./partners)")
    ]
    static let discussion = """
        Copies network.json and the partner files from --partners into DIR/network, installs the
        partners' keys into DIR/keys readable by the owner only, and creates DIR/ledger.sqlite.
        Refuses a directory that already holds a ledger.
        """

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let partners = context.arguments.value("partners") ?? "partners"
        let (network, _) = try context.data.create(from: partners)
        if context.json {
            Output.json(["data": context.data.root, "partners": network.sortedPartners.map(\.id.rawValue)])
        } else {
            Output.line("Created \(context.data.root) for \(network.name) with \(network.partners.count) partners.")
        }
        return .success
    }
}
