/// One movement of a member's statement as JSON, with the balance it leaves: what
/// `member statement --json` lists as `movements` and the member API's statement
/// (`GET /member/api/statement`) as `lines`. `partner` and `record` are absent where the
/// movement has none (a transfer, an expiry).
package struct StatementMovement: Encodable, Sendable {
    let at: String
    let kind: String
    let partner: String?
    let record: String?
    let points: Int64
    let balance: Int64
    let description: String

    package init(_ line: MemberStatement.Line) {
        at = line.at.description
        kind = line.kind
        partner = line.partner?.rawValue
        record = line.recordID
        points = line.points
        balance = line.balance
        description = line.description
    }
}

/// A member's statement as JSON: the period, the opening and closing balances and every
/// movement between. The member API (`GET /member/api/statement`) lists the movements as
/// `lines`; `member statement --json` names the member and their tier beside them and lists
/// them as `movements`.
package struct MemberStatementAnswer: Encodable, Sendable {
    /// The member and their tier, for the command line's answer (absent from the API's).
    package struct Holder: Sendable {
        let member: MemberNumber
        let tier: String

        package init(member: MemberNumber, tier: String) {
            self.member = member
            self.tier = tier
        }
    }

    let holder: Holder?
    let from: String
    let to: String
    let opening: Int64
    let closing: Int64
    /// Points held past their expiry at `to`, breakage pending: not in `closing`.
    let expiredPending: Int64
    let movements: [StatementMovement]

    package init(_ statement: MemberStatement, from: Timestamp, to: Timestamp, holder: Holder? = nil) {
        self.holder = holder
        self.from = from.description
        self.to = to.description
        opening = statement.opening
        closing = statement.closing
        expiredPending = statement.expiredPending
        movements = statement.lines.map(StatementMovement.init)
    }

    enum CodingKeys: String, CodingKey {
        case member, tier, from, to, opening, closing, expiredPending, movements, lines
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(holder?.member.description, forKey: .member)
        try container.encodeIfPresent(holder?.tier, forKey: .tier)
        try container.encode(from, forKey: .from)
        try container.encode(to, forKey: .to)
        try container.encode(opening, forKey: .opening)
        try container.encode(closing, forKey: .closing)
        try container.encode(expiredPending, forKey: .expiredPending)
        try container.encode(movements, forKey: holder == nil ? .lines : .movements)
    }
}
