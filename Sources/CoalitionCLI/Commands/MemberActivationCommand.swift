import CoalitionKit
import CoalitionServer
import Foundation

struct MemberActivationCodeCommand: Command {
    static let path = ["member", "activation-code"]
    static let summary = "issue a one-time code with which a member sets a password online"
    static let synopsis = "NUMBER"
    static let options: [OptionSpec] = []
    static let discussion = """
        Prints a new one-time activation code for the member (16 characters in groups of 4),
        valid 72 hours, replacing any code issued before. Give it to the member by a channel
        you trust; with it they set a password at /member/ (docs/members.md). Only the code's
        SHA-256 is kept, in DIR/access/members.json (owner-only). Issuing a code to a member
        who has a password lets them set a new one; their sessions end when they do.
        """

    static func run(_ context: Context) throws -> ExitCode {
        let words = try positional(context, count: 1)
        let member = try MemberNumber(words[0])
        let ledger = try context.data.open()
        guard ledger.member(member) != nil else {
            throw CoalitionError(.unknownMember, "no member \(member) in the ledger")
        }
        let access = MemberAccess(file: CredentialFile(dataDirectory: context.data.root)) { Clock.now }
        let code = try access.issueActivationCode(for: member)
        if context.json {
            Output.json(ActivationCode(member: member.description, code: code), slashes: .escaped)
        } else {
            Output.line("activation code for \(member): \(code) (valid 72 hours, once)")
        }
        return .success
    }
}

/// What `member activation-code --json` prints: the one-time code and how long it lasts.
struct ActivationCode: Encodable {
    let member: String
    let code: String
    let validHours = 72

    enum CodingKeys: String, CodingKey {
        case member, code
        case validHours = "valid_hours"
    }
}
