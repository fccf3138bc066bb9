import CoalitionKit
import Foundation

/// What `GET /member/api/statement` answers: each movement of the period with its partner,
/// record and reason, between the opening and closing balances.
struct StatementAnswer: Encodable, Sendable {
    struct Line: Encodable, Sendable {
        let at: String
        let kind: String
        let partner: String?
        let record: String?
        let points: Int64
        let balance: Int64
        let description: String
    }

    let from: String
    let to: String
    let opening: Int64
    let closing: Int64
    /// Points held past their expiry at `to`, breakage pending: not in `closing`.
    let expiredPending: Int64
    let lines: [Line]

    init(_ statement: MemberStatement, from: Timestamp, to: Timestamp) {
        self.from = from.description
        self.to = to.description
        opening = statement.opening
        closing = statement.closing
        expiredPending = statement.expiredPending
        lines = statement.lines.map {
            Line(
                at: $0.at.description,
                kind: $0.kind,
                partner: $0.partner?.description,
                record: $0.recordID,
                points: $0.points,
                balance: $0.balance,
                description: $0.description
            )
        }
    }
}

extension MemberAPI {
    /// The statement of `member` for `from`…`to` from the query (dates or UTC times; a date
    /// as `to` runs to the end of that day); by default the last 31 days up to now.
    func statement(of member: MemberNumber, query: String?) throws(APIError) -> HTTPResponse {
        let (from, to) = try Self.statementPeriod(query: query, now: now())
        do {
            let answer = try writer.perform { ledger in
                StatementAnswer(
                    try MemberStatement(ledger: ledger, member: member, from: from, to: to),
                    from: from,
                    to: to
                )
            }
            return JSON.response(answer)
        } catch {
            throw APIError.from(error)
        }
    }

    /// The period `from=`…`to=` of a statement query (dates or UTC times; a date as `to`
    /// runs to the end of that day); by default the last 31 days up to `now`.
    static func statementPeriod(query: String?, now at: Timestamp) throws(APIError) -> (Timestamp, Timestamp) {
        var fields: [String: String] = [:]
        for pair in (query ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, ["from", "to"].contains(parts[0]), fields[parts[0]] == nil else {
                throw APIError(
                    status: 400,
                    code: .usage,
                    message: "the statement takes from= and to= (dates or UTC times)"
                )
            }
            fields[parts[0]] = parts[1].removingPercentEncoding ?? parts[1]
        }
        func time(_ name: String, _ fallback: Timestamp, endOfDay: Bool) throws(APIError) -> Timestamp {
            guard let text = fields[name], !text.isEmpty else { return fallback }
            guard let parsed = try? Timestamp(parsing: text, allowingDate: true) else {
                throw APIError(status: 400, code: .usage, message: "\(name) is not a date or a UTC time")
            }
            return endOfDay && text.utf8.count == 10 ? Timestamp(seconds: parsed.seconds + 86_399) : parsed
        }
        let to = try time("to", at, endOfDay: true)
        let from = try time("from", Timestamp(seconds: to.seconds - 31 * 86_400), endOfDay: false)
        guard from <= to else { throw APIError(status: 400, code: .usage, message: "from is after to") }
        return (from, to)
    }
}
