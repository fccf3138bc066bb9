import CoalitionKit
import Foundation

/// The member's pages beyond the overview: activation, the statement, tier progress and
/// transfers with a confirmation step (`docs/members.md`). Each reads only the signed-in
/// member's own account: no page takes a member number to read.
extension MemberPages {
    /// The signed-in member of the session cookie, or nil.
    func signedInMember(_ cookies: [String: String]) -> MemberNumber? {
        guard let token = cookies[Self.sessionCookie] else { return nil }
        return try? access.member(session: token)
    }

    /// Whether the form's `csrf` field equals the CSRF cookie (compared in constant time).
    static func hasValidCSRF(_ form: [String: String], cookies: [String: String]) -> Bool {
        guard let cookie = cookies[csrfCookie], let sent = form["csrf"] else { return false }
        return constantTimeEqual(Array(cookie.utf8), Array(sent.utf8))
    }

    func refusedForm(back: String) -> HTTPResponse {
        page(
            "Refused",
            "<p>The form had expired. <a href=\"\(back)\">Try again</a>.</p>",
            status: 403
        )
    }

    // MARK: Activation

    /// `POST /member/activate`: a one-time code and a new password (typed twice).
    func activate(_ request: HTTPRequest, cookies: [String: String], csrf: String) -> HTTPResponse {
        let form = Self.form(request)
        guard Self.hasValidCSRF(form, cookies: cookies) else { return refusedForm(back: "/member/activate") }
        let member = form["member"] ?? ""
        guard form["password"] == form["confirm"] else {
            return page(
                "Activate your account",
                PageHTML.activation(
                    csrf: csrf,
                    member: member,
                    message: "The two passwords differ: type the same one twice."
                ),
                status: 400
            )
        }
        do {
            try access.activate(
                member: member,
                code: form["code"] ?? "",
                password: form["password"] ?? "",
                address: request.head.remoteAddress
            )
            return page(
                "Password set",
                "<p role=\"status\">Your password is set. <a href=\"/member/sign-in\">Sign in</a> with your member "
                    + "number and it.</p>"
            )
        } catch {
            var response = page(
                "Activate your account",
                PageHTML.activation(csrf: csrf, member: member, message: error.message),
                status: error.status
            )
            for header in error.headers { response.headers.add(header.name, header.value) }
            return response
        }
    }

    // MARK: Statement

    /// `GET /member/statement?from=DATE&to=DATE`: every movement of the period.
    func statementPage(_ member: MemberNumber, query: String?, csrf: String) -> HTTPResponse {
        // A form sends its empty fields too: they mean the default.
        let given = (query ?? "").split(separator: "&").filter { !$0.hasSuffix("=") }.joined(separator: "&")
        let from: Timestamp
        let to: Timestamp
        do {
            (from, to) = try MemberAPI.statementPeriod(query: given, now: now())
        } catch {
            return page(
                "Statement",
                PageHTML.statementForm(from: "", to: "")
                    + "<p class=\"error\" role=\"alert\">\(PageHTML.escape(error.message))</p>",
                status: 400,
                member: member,
                csrf: csrf
            )
        }
        let statement = try? writer.perform { ledger in
            try MemberStatement(ledger: ledger, member: member, from: from, to: to)
        }
        guard let statement else { return unavailable() }
        return page("Statement", PageHTML.statement(statement, from: from, to: to), member: member, csrf: csrf)
    }

    // MARK: Tier

    /// `GET /member/tier`: the tier, the qualifying points and what is left to the next.
    func tierPage(_ member: MemberNumber, csrf: String) -> HTTPResponse {
        let at = now()
        let answer = try? writer.perform { ledger in
            ledger.member(member).map {
                (BalanceAnswer(account: $0, network: ledger.network, at: at), ledger.network)
            }
        }
        guard let (balance, network) = answer ?? nil else { return unavailable() }
        return page("Tier progress", PageHTML.tier(balance.tier, network: network), member: member, csrf: csrf)
    }

    // MARK: Transfer

    /// `POST /member/transfer`: checks the form and shows what would happen, with the fee,
    /// and a new idempotency key for the confirmation. Nothing moves yet.
    func confirmTransfer(
        _ member: MemberNumber,
        _ request: HTTPRequest,
        cookies: [String: String],
        csrf: String
    )
        -> HTTPResponse
    {
        let form = Self.form(request)
        guard Self.hasValidCSRF(form, cookies: cookies) else { return refusedForm(back: "/member/transfer") }
        let to = (form["to"] ?? "").trimmingCharacters(in: .whitespaces)
        guard let points = Int64(form["points"] ?? ""), points > 0 else {
            return transferForm(member, csrf: csrf, to: to, message: "Type the points to send as a whole number.")
        }
        guard let recipient = try? MemberNumber(to) else {
            return transferForm(member, csrf: csrf, to: to, message: "'\(to)' is not a member number.")
        }
        guard recipient != member else {
            return transferForm(member, csrf: csrf, to: to, message: "Choose another member than yourself.")
        }
        let fee = (try? writer.perform { ledger in ledger.network.transferLimits.feePoints }) ?? 0
        // 128 random bits: with the member's number it stays within a record id's 64 characters.
        let key = Hex.encode((try? secureRandomBytes(16)) ?? [])
        return page(
            "Confirm the transfer",
            PageHTML.transferConfirmation(to: recipient, points: points, fee: fee, key: key, csrf: csrf),
            member: member,
            csrf: csrf
        )
    }

    /// `POST /member/transfer/confirm`: the transfer, once per key, with the API's limits
    /// and refusal codes.
    func performTransfer(
        _ member: MemberNumber,
        _ request: HTTPRequest,
        cookies: [String: String],
        csrf: String
    )
        -> HTTPResponse
    {
        let form = Self.form(request)
        guard Self.hasValidCSRF(form, cookies: cookies) else { return refusedForm(back: "/member/transfer") }
        let key = form["key"] ?? ""
        guard key.utf8.count == 32, Hex.decode(key.utf8) != nil, let points = Int64(form["points"] ?? "") else {
            return transferForm(member, csrf: csrf, to: form["to"] ?? "", message: "Start the transfer again.")
        }
        do {
            let result = try MemberAPI.transfer(
                writer: writer,
                from: member,
                to: form["to"] ?? "",
                points: points,
                key: "page-" + key,
                at: now()
            )
            return page(
                "Transfer done",
                PageHTML.transferDone(result, to: form["to"] ?? ""),
                status: result.isReplay ? 200 : 201,
                member: member,
                csrf: csrf
            )
        } catch {
            return transferForm(
                member,
                csrf: csrf,
                to: form["to"] ?? "",
                message: "\(error.code.rawValue): \(error.message)",
                status: error.status
            )
        }
    }

    func transferForm(
        _ member: MemberNumber,
        csrf: String,
        to: String = "",
        message: String? = nil,
        status: Int? = nil
    ) -> HTTPResponse {
        let limits = try? writer.perform { ledger in ledger.network.transferLimits }
        return page(
            "Transfer points",
            PageHTML.transferForm(csrf: csrf, to: to, limits: limits, message: message),
            status: status ?? (message == nil ? 200 : 422),
            member: member,
            csrf: csrf
        )
    }

    func unavailable() -> HTTPResponse {
        page("Unavailable", "<p>Your account cannot be read just now. Try again shortly.</p>", status: 503)
    }
}

extension PageHTML {
    /// The links between the signed-in member's pages, and the sign-out button.
    static func navigation(_ member: MemberNumber, csrf: String) -> String {
        """
        <nav aria-label="Your account"><ul>\
        <li><a href="/member/">Overview</a></li><li><a href="/member/statement">Statement</a></li>\
        <li><a href="/member/transfer">Transfer</a></li><li><a href="/member/tier">Tier</a></li></ul>\
        <form method="post" action="/member/sign-out"><input type="hidden" name="csrf" value="\(escape(csrf))">\
        <button type="submit">Sign out</button></form>\
        <p>Member \(escape(MemberMask.masked(member.description)))</p></nav>
        """
    }

    static func activation(csrf: String, member: String, message: String?) -> String {
        let error = message.map { "<p class=\"error\" role=\"alert\">\(escape($0))</p>" } ?? ""
        return """
            \(error)<p>Type the member number and the one-time code you were given, then choose a password \
            of 10 to 128 characters.</p>
            <form method="post" action="/member/activate">
            <input type="hidden" name="csrf" value="\(escape(csrf))">
            <label for="member">Member number</label>
            <input id="member" name="member" inputmode="numeric" autocomplete="username" value="\(escape(member))" required>
            <label for="code">Activation code</label>
            <input id="code" name="code" autocomplete="off" required>
            <label for="password">New password</label>
            <input id="password" name="password" type="password" autocomplete="new-password" minlength="10" required>
            <label for="confirm">New password again</label>
            <input id="confirm" name="confirm" type="password" autocomplete="new-password" minlength="10" required>
            <button type="submit">Set the password</button></form>
            <p><a href="/member/sign-in">Sign in</a> if your account is active.</p>
            """
    }

    static func statementForm(from: String, to: String) -> String {
        """
        <form method="get" action="/member/statement">
        <label for="from">From (date)</label><input id="from" name="from" type="date" value="\(escape(from))">
        <label for="to">To (date)</label><input id="to" name="to" type="date" value="\(escape(to))">
        <button type="submit">Show</button></form>
        """
    }

    static func statement(_ statement: MemberStatement, from: Timestamp, to: Timestamp) -> String {
        let rows = statement.lines.map { line in
            """
            <tr><td>\(escape(line.at.description))</td><td>\(escape(line.kind))</td>\
            <td>\(escape(line.partner?.description ?? "–"))</td><td>\(escape(line.recordID ?? "–"))</td>\
            <td class="n">\(Points.grouped(line.points))</td><td class="n">\(Points.grouped(line.balance))</td>\
            <td>\(escape(line.description))</td></tr>
            """
        }
        let table =
            rows.isEmpty
            ? "<p>No movement in this period.</p>"
            : """
            <div class="scroll" tabindex="0" role="region" aria-label="Movements"><table>
            <caption>Movements from \(escape(from.description)) to \(escape(to.description))</caption>
            <thead><tr><th scope="col">When (UTC)</th><th scope="col">What</th><th scope="col">Partner</th>\
            <th scope="col">Record</th><th scope="col">Points</th><th scope="col">Balance</th>\
            <th scope="col">Why</th></tr></thead>
            <tbody>\(rows.joined())</tbody></table></div>
            """
        return """
            \(statementForm(from: String(from.description.prefix(10)), to: String(to.description.prefix(10))))
            <p>Opening balance: <strong>\(Points.grouped(statement.opening))</strong> points. \
            Closing balance: <strong>\(Points.grouped(statement.closing))</strong> points.</p>
            \(table)
            """
    }

    static func tier(_ tier: BalanceAnswer.TierLine, network: Network) -> String {
        let next =
            tier.next.map {
                "<p>Next tier: <strong>\(escape($0))</strong>, \(Points.grouped(tier.missing ?? 0)) qualifying points away.</p>"
            } ?? "<p>You are in the top tier.</p>"
        let top = max(1, network.tiers.last?.qualifyingPoints ?? 1, tier.qualifyingPoints)
        let width = Int64(300) * min(tier.qualifyingPoints, top) / top
        var svg = "<svg role=\"img\" aria-label=\"Qualifying points against the tiers\" viewBox=\"0 0 320 60\" "
        svg +=
            "xmlns=\"http://www.w3.org/2000/svg\"><rect x=\"10\" y=\"10\" width=\"300\" height=\"20\" fill=\"#ddd\"/>"
        svg += "<rect x=\"10\" y=\"10\" width=\"\(width)\" height=\"20\" fill=\"#0b4f9c\"/>"
        for level in network.tiers {
            let x = 10 + Int64(300) * min(level.qualifyingPoints, top) / top
            svg += "<line x1=\"\(x)\" y1=\"6\" x2=\"\(x)\" y2=\"34\" stroke=\"#111\"/>"
            svg += "<text x=\"\(min(x, 280))\" y=\"50\" font-size=\"11\" fill=\"#111\">\(escape(level.name))</text>"
        }
        svg += "</svg>"
        let rows = network.tiers.map { level in
            let current = level.name == tier.name ? " (yours)" : ""
            return """
                <tr><th scope="row">\(escape(level.name))\(current)</th>\
                <td class="n">\(Points.grouped(level.qualifyingPoints))</td><td class="n">\(level.bonusPercent) %</td></tr>
                """
        }
        return """
            <p>Your tier: <strong>\(escape(tier.name))</strong>, with \(Points.grouped(tier.qualifyingPoints)) \
            qualifying points earned in the last \(network.tierWindowDays) days.</p>
            \(next)
            \(svg)
            <table><caption>The tiers</caption><thead><tr><th scope="col">Tier</th>\
            <th scope="col">Qualifying points</th><th scope="col">Earn bonus</th></tr></thead>
            <tbody>\(rows.joined())</tbody></table>
            """
    }

    static func transferForm(csrf: String, to: String, limits: TransferLimits?, message: String?) -> String {
        let error = message.map { "<p class=\"error\" role=\"alert\">\(escape($0))</p>" } ?? ""
        let rules =
            limits.map {
                "<p>At least \(Points.grouped($0.minimum)) and at most \(Points.grouped($0.maximumPerTransfer)) points, "
                    + "in steps of \(Points.grouped($0.step)); fee \(Points.grouped($0.feePoints)) points.</p>"
            } ?? ""
        return """
            \(error)\(rules)<form method="post" action="/member/transfer">
            <input type="hidden" name="csrf" value="\(escape(csrf))">
            <label for="to">To member number</label>
            <input id="to" name="to" inputmode="numeric" autocomplete="off" value="\(escape(to))" required>
            <label for="points">Points</label>
            <input id="points" name="points" inputmode="numeric" pattern="[0-9]+" required>
            <button type="submit">Continue</button></form>
            """
    }

    static func transferConfirmation(to: MemberNumber, points: Int64, fee: Int64, key: String, csrf: String) -> String {
        """
        <p>Send <strong>\(Points.grouped(points))</strong> points to member <strong>\(escape(to.description))</strong>\
        \(fee > 0 ? ", plus a fee of \(Points.grouped(fee)) points: \(Points.grouped(points + fee)) in all" : "")?</p>
        <p>The points keep their issuer and expiry date. A transfer cannot be undone by you.</p>
        <form method="post" action="/member/transfer/confirm">
        <input type="hidden" name="csrf" value="\(escape(csrf))">
        <input type="hidden" name="key" value="\(escape(key))">
        <input type="hidden" name="to" value="\(escape(to.description))">
        <input type="hidden" name="points" value="\(points)">
        <button type="submit">Confirm the transfer</button></form>
        <p><a href="/member/transfer">Change it</a> or <a href="/member/">cancel</a>.</p>
        """
    }

    static func transferDone(_ result: TransferResult, to: String) -> String {
        """
        <p role="status">\(result.isReplay ? "This transfer was already made: " : "")\
        \(Points.grouped(result.points)) points went to member \(escape(to))\
        \(result.fee > 0 ? " with a fee of \(Points.grouped(result.fee)) points" : "") (posting \(result.seq)).</p>
        <p><a href="/member/statement">See your statement</a>.</p>
        """
    }
}
