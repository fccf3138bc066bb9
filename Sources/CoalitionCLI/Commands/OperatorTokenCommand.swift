import CoalitionKit
import CoalitionServer
import Foundation

struct OperatorTokenCreateCommand: Command {
    static let path = ["operator", "token", "create"]
    static let summary = "make a token with which an operator signs in to the dashboard"
    static let synopsis = "NAME"
    static let options: [OptionSpec] = []
    static let discussion = """
        Prints a new operator token (coalop_ and 64 hex digits) once, with its id; NAME says
        who holds it. Only the token's SHA-256 is kept, in DIR/access/operators.json
        (owner-only). Paste it at /operator/sign-in of `coalition serve`; the session it makes
        lasts 8 hours. `coalition operator token revoke ID` ends it and its sessions
        (docs/operations.md).
        """

    static func run(_ context: Context) throws -> ExitCode {
        let name = try positional(context, count: 1)[0]
        guard (1...64).contains(name.count), name.allSatisfy({ $0.isLetter || $0.isNumber || "-_. @".contains($0) })
        else { throw CoalitionError(.usage, "NAME is 1 to 64 letters, digits, spaces or -_.@") }
        let made = try OperatorAccess(dataDirectory: context.data.root) { Clock.now }.makeToken(name: name)
        if context.json {
            Output.json(MadeToken(id: made.id, name: name, token: made.secret))
        } else {
            Output.line("operator token \(made.id) for \(name): \(made.secret)")
            Output.line("(shown once: only its hash is kept)")
        }
        return .success
    }
}

struct OperatorTokenListCommand: Command {
    struct Line: Encodable {
        let id: String
        let name: String
        let created: String
        let revoked: String?
    }

    static let path = ["operator", "token", "list"]
    static let summary = "list the operator tokens, revoked ones too (never the tokens themselves)"
    static let synopsis = ""
    static let options: [OptionSpec] = []
    static let discussion = "Lists each token's id, name, when it was made and when it was revoked."

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let lines = try OperatorAccess(dataDirectory: context.data.root) { Clock.now }.tokens().map {
            Line(
                id: $0.id,
                name: $0.token.name,
                created: Timestamp(seconds: $0.token.createdAt).description,
                revoked: $0.token.revokedAt.map { Timestamp(seconds: $0).description }
            )
        }
        if context.json {
            Output.json(TokenList(tokens: lines))
        } else if lines.isEmpty {
            Output.line("no operator tokens: make one with `coalition operator token create NAME`")
        } else {
            for line in lines {
                Output.line(
                    "\(line.id)  \(line.name)  made \(line.created)\(line.revoked.map { "  revoked \($0)" } ?? "")"
                )
            }
        }
        return .success
    }
}

struct OperatorTokenRevokeCommand: Command {
    static let path = ["operator", "token", "revoke"]
    static let summary = "revoke an operator token and end the sessions it made"
    static let synopsis = "ID"
    static let options: [OptionSpec] = []
    static let discussion =
        "Revokes at once: the token signs in no more and its sessions end (UNKNOWN_OPERATOR_TOKEN for an id not listed)."

    static func run(_ context: Context) throws -> ExitCode {
        let id = try positional(context, count: 1)[0]
        try OperatorAccess(dataDirectory: context.data.root) { Clock.now }.revoke(id: id)
        if context.json {
            Output.json(RevokedToken(id: id), slashes: .escaped)
        } else {
            Output.line("operator token \(id) revoked")
        }
        return .success
    }
}

/// What `operator token create --json` prints: the token, shown once.
struct MadeToken: Encodable {
    let id: String
    let name: String
    let token: String
}

/// What `operator token list --json` prints.
struct TokenList: Encodable {
    let tokens: [OperatorTokenListCommand.Line]
}

/// What `operator token revoke --json` prints.
struct RevokedToken: Encodable {
    let id: String
    let revoked = true
}
