import CoalitionKit
import Foundation

extension MemberAPI {
    /// The statement of `member` for `from`…`to` from the query (dates or UTC times; a date
    /// as `to` runs to the end of that day); by default the last 31 days up to now.
    func statement(of member: MemberNumber, query: String?) throws(APIError) -> HTTPResponse {
        let (from, to) = try Self.statementPeriod(query: query, now: now())
        do {
            let answer = try writer.perform { ledger in
                MemberStatementAnswer(
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
