import CoalitionKit
import CoalitionPostgreSQL

struct InitCommand: Command {
    static let path = ["init"]
    static let summary = "create a data directory and an empty ledger for a network"
    static let synopsis = ""
    static let options: [OptionSpec] = [
        .value("partners", "DIR", "the network definition to use (default ./partners)"),
        .value("store", "URL", "keep the ledger in this PostgreSQL database (postgresql://…), not ledger.sqlite"),
    ]
    static let discussion = """
        Copies network.json and the partner files from --partners into DIR/network, installs the
        partners' keys into DIR/keys readable by the owner only, and creates DIR/ledger.sqlite.
        With --store postgresql://user@host:port/database the ledger is made in that database
        instead (it must exist and hold no tables), and DIR/ledger.store (owner-only) names it, so
        every other command opens it; files, keys and reports stay in DIR. Keep the password in
        ~/.pgpass or PGPASSWORD rather than in the URL. Refuses a directory that already holds a
        ledger.
        """

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let partners = context.arguments.value("partners") ?? "partners"
        let store = context.arguments.value("store")
        let (network, _) = try context.data.create(from: partners, store: store)
        if context.json {
            Output.json(
                CreatedDirectory(data: context.data.root, partners: network.sortedPartners.map(\.id.rawValue)),
                slashes: .escaped
            )
        } else {
            Output.line("Created \(context.data.root) for \(network.name) with \(network.partners.count) partners.")
            // The database named without its password.
            if let store { Output.line("The ledger is in PostgreSQL: \(PostgreSQLStore.redacted(store)).") }
        }
        return .success
    }
}

/// What `init --json` prints: the data directory made, and the network's partners.
struct CreatedDirectory: Encodable {
    let data: String
    let partners: [String]
}
