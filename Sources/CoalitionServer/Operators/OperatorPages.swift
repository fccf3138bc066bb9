import CoalitionFiles
import CoalitionKit
import Foundation
import Synchronization

/// The operator's pages under `/operator/` (`docs/operations.md`): sign-in with a token made
/// by `coalition operator token create`, the dashboard, member look-up, the positions report
/// and each closed cycle's HTML report. Same rules as the member pages: no JavaScript, no
/// external resource, a strict `Content-Security-Policy`, cookies `Secure; HttpOnly;
/// SameSite=Strict` under `/operator/`, a CSRF token on every form.
package final class OperatorPages: HTTPResponder {
    static let sessionCookie = "coalition_operator"
    static let csrfCookie = "coalition_operator_csrf"
    /// Every page path with the methods it takes (a cycle's report is `/operator/cycles/N`).
    static let pages: [String: [String]] = [
        "/operator/sign-in": ["GET", "POST"], "/operator/sign-out": ["POST"], "/operator/": ["GET"],
        "/operator": ["GET"], "/operator/member": ["GET"], "/operator/positions": ["GET"],
    ]
    let access: OperatorAccess
    let writer: LedgerWriter
    /// The programme's figures so far: each dashboard view reads only the postings since.
    let performance = Mutex(ProgrammePerformance.Tally())
    /// The data directory's `rejected/`, whose files refused whole the dashboard lists.
    let rejectedFolder: String?
    let now: @Sendable () -> Timestamp

    package init(
        access: OperatorAccess,
        writer: LedgerWriter,
        rejectedFolder: String? = nil,
        now: @escaping @Sendable () -> Timestamp
    ) {
        self.access = access
        self.writer = writer
        self.rejectedFolder = rejectedFolder
        self.now = now
    }

    package func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy { .inMemory(maximum: 4096) }

    package func respond(to request: HTTPRequest) -> HTTPResponse {
        let head = request.head
        let cookies = MemberPages.cookies(head)
        let csrf = cookies[Self.csrfCookie].flatMap { $0.utf8.count == 64 ? $0 : nil } ?? MemberPages.newToken()
        let signedIn = cookies[Self.sessionCookie].flatMap { access.tokenID(session: $0) } != nil
        var response: HTTPResponse
        switch (head.method, head.path, signedIn) {
        case ("GET", "/operator/sign-in", _):
            response = page("Operator sign-in", OperatorHTML.signIn(csrf: csrf, message: nil))
        case ("POST", "/operator/sign-in", _):
            response = signIn(request, cookies: cookies, csrf: csrf)
        case ("POST", "/operator/sign-out", _):
            let form = MemberPages.form(request)
            guard let cookie = cookies[Self.csrfCookie], let sent = form["csrf"],
                constantTimeEqual(Array(cookie.utf8), Array(sent.utf8))
            else {
                response = page("Refused", "<p>The form had expired. <a href=\"/operator/\">Back</a>.</p>", status: 403)
                break
            }
            if let session = cookies[Self.sessionCookie] { access.signOut(session: session) }
            response = Self.redirect("/operator/sign-in")
            response.headers.add("Set-Cookie", Self.cookie(Self.sessionCookie, "", maxAge: 0))
        case ("GET", "/operator/", true), ("GET", "/operator", true):
            response = dashboard(csrf: csrf)
        case ("GET", "/operator/member", true):
            response = lookUp(query: head.query, csrf: csrf)
        case ("GET", "/operator/positions", true):
            response = positions()
        case ("GET", let path, true) where path.hasPrefix("/operator/cycles/"):
            response = cycleReport(String(path.dropFirst("/operator/cycles/".count)))
        case (_, let path, let signedIn) where Self.pages[path] != nil || path.hasPrefix("/operator/cycles/"):
            let methods = Self.pages[path] ?? ["GET"]
            if !methods.contains(head.method) {
                response = page("Not allowed", "<p>This page does not take that method.</p>", status: 405)
                response.headers.add("Allow", methods.joined(separator: ", "))
            } else {
                response = signedIn ? page("Not found", "", status: 404) : Self.redirect("/operator/sign-in")
            }
        default:
            response = page("Not found", "<p>No such page. <a href=\"/operator/\">The dashboard</a>.</p>", status: 404)
        }
        if cookies[Self.csrfCookie] != csrf {
            response.headers.add("Set-Cookie", Self.cookie(Self.csrfCookie, csrf, maxAge: 86_400))
        }
        return response
    }

    func signIn(_ request: HTTPRequest, cookies: [String: String], csrf: String) -> HTTPResponse {
        let form = MemberPages.form(request)
        guard let cookie = cookies[Self.csrfCookie], let sent = form["csrf"],
            constantTimeEqual(Array(cookie.utf8), Array(sent.utf8))
        else {
            return page(
                "Refused",
                "<p>The form had expired. <a href=\"/operator/sign-in\">Sign in again</a>.</p>",
                status: 403
            )
        }
        do {
            let session = try access.signIn(secret: form["token"] ?? "", address: request.head.remoteAddress)
            var response = Self.redirect("/operator/")
            response.headers.add(
                "Set-Cookie",
                Self.cookie(Self.sessionCookie, session.token, maxAge: session.expiresAt - now().seconds)
            )
            return response
        } catch {
            var response = page(
                "Operator sign-in",
                OperatorHTML.signIn(csrf: csrf, message: error.message),
                status: error.status
            )
            for header in error.headers { response.headers.add(header.name, header.value) }
            return response
        }
    }

    func dashboard(csrf: String) -> HTTPResponse {
        let at = now()
        let figures = try? writer.perform { ledger in
            OperatorHTML.Dashboard(
                network: ledger.network,
                summary: try NetworkSummary(ledger: ledger, at: at),
                positions: try PositionsReport(ledger: ledger, asOf: at),
                cycles: Array(try ledger.store.cycles().suffix(10).reversed()),
                rejections: try OperatorHTML.rejectionCounts(ledger),
                performance: try self.performance(ledger, at: at),
                at: at
            )
        }
        guard let figures else {
            return page("Unavailable", "<p>The ledger cannot be read just now.</p>", status: 503)
        }
        let webhooks = try? writer.perform { ledger in
            let outbox = try WebhookDelivery.outbox(ledger)
            return (try outbox.outboxCounts(), try outbox.failingDeliveries(limit: 20))
        }
        return page(
            "Network dashboard",
            OperatorHTML.dashboard(
                figures,
                webhooks: Self.webhookDeliveriesPanel(webhooks),
                rejectedFiles: Self.rejectedFilesPanel(
                    rejectedFolder.map { SettlementFiling.rejectedFiles(in: $0) } ?? []
                )
            ),
            csrf: csrf
        )
    }

    /// The programme's figures, from the kept tally advanced to the journal's end. Runs
    /// in a writer job: the first view reads the whole journal, later ones what is new.
    func performance(_ ledger: Ledger, at: Timestamp) throws -> ProgrammePerformance {
        var tally = performance.withLock { $0 }
        try tally.advance(ledger)
        performance.withLock { kept in if kept.throughSeq < tally.throughSeq { kept = tally } }
        return ProgrammePerformance(tally: tally, ledger: ledger, asOf: at)
    }

    /// The panel "webhook deliveries failing": the outbox's counts by status, then the
    /// events given up on and those still being retried after a failure, most attempts
    /// first (`EventOutbox.failingDeliveries`), each with its last error.
    static func webhookDeliveriesPanel(_ outbox: (OutboxCounts, [OutboxEntry])?) -> String {
        guard let (counts, failing) = outbox else { return "<p>The outbox cannot be read just now.</p>" }
        let summary = """
            <p>\(Points.grouped(counts.pending)) pending, \(Points.grouped(counts.delivered)) delivered, \
            \(Points.grouped(counts.failed)) given up (<code>coalition events redeliver</code> sends one again).</p>
            """
        return summary
            + OperatorHTML.table(
                "Failing deliveries",
                ["Event", "Partner", "Type", "Status", "Attempts", "Next attempt", "Last error"],
                failing.map { entry in
                    [
                        entry.event.id, entry.event.partner.rawValue, entry.event.type.rawValue,
                        entry.status.rawValue, String(entry.attempts),
                        entry.status == .pending ? entry.nextAttemptAt.description : "",
                        entry.lastError ?? "",
                    ]
                },
                numeric: [4]
            )
    }

    /// Files refused whole before any record was read (a bad signature, an unknown key, a
    /// malformed header), newest first, the last 20: from `rejected/`, not the ledger.
    static func rejectedFilesPanel(_ files: [SettlementFiling.RejectedFile]) -> String {
        OperatorHTML.table(
            "Files rejected whole",
            ["Rejected at", "Partner", "Batch", "File", "Code", "Where"],
            files.sorted { ($0.rejectedAt, $0.file) > ($1.rejectedAt, $1.file) }.prefix(20).map { file in
                [
                    file.rejectedAt.description, file.partner?.rawValue ?? "unknown",
                    file.sequence.map(String.init) ?? "", file.file, file.code, file.place,
                ]
            },
            numeric: [2]
        )
    }

    /// `GET /operator/member?number=N`: one member's balance, lots and tier.
    func lookUp(query: String?, csrf: String) -> HTTPResponse {
        var number = ""
        for pair in (query ?? "").split(separator: "&") where pair.hasPrefix("number=") {
            number = String(pair.dropFirst(7)).removingPercentEncoding ?? ""
        }
        number = number.trimmingCharacters(in: .whitespaces)
        guard !number.isEmpty else {
            return page("Member look-up", OperatorHTML.lookUpForm(number: ""), csrf: csrf)
        }
        let at = now()
        guard let member = try? MemberNumber(number) else {
            return page(
                "Member look-up",
                OperatorHTML.lookUpForm(number: number)
                    + "<p class=\"error\" role=\"alert\">That is not a member number.</p>",
                status: 400,
                csrf: csrf
            )
        }
        let answer = try? writer.perform { ledger in
            ledger.member(member).map { BalanceAnswer(account: $0, network: ledger.network, at: at) }
        }
        guard let found = answer ?? nil else {
            return page(
                "Member look-up",
                OperatorHTML.lookUpForm(number: number) + "<p role=\"status\">No such member.</p>",
                status: 404,
                csrf: csrf
            )
        }
        return page("Member look-up", OperatorHTML.lookUpForm(number: number) + OperatorHTML.member(found), csrf: csrf)
    }

    /// The open positions netted as if a cycle closed now: the existing positions report.
    func positions() -> HTTPResponse {
        let at = now()
        let html = try? writer.perform { ledger in
            CycleReport.html(positions: try PositionsReport(ledger: ledger, asOf: at), network: ledger.network)
        }
        guard let html else { return page("Unavailable", "<p>The ledger cannot be read just now.</p>", status: 503) }
        return Self.report(html)
    }

    /// `/operator/cycles/N`: the cycle's HTML report, as `coalition cycle close` writes it.
    func cycleReport(_ text: String) -> HTTPResponse {
        guard let number = Int64(text), number > 0 else { return page("Not found", "", status: 404) }
        let html = try? writer.perform { ledger in
            try ledger.store.cycles().first { $0.number == number }.map {
                CycleReport.html($0, network: ledger.network)
            }
        }
        guard let html = html ?? nil else {
            return page("Not found", "<p>No such cycle. <a href=\"/operator/\">The dashboard</a>.</p>", status: 404)
        }
        return Self.report(html)
    }

    /// A report page of `CycleReport` with a policy allowing exactly its own style sheet.
    static func report(_ html: String) -> HTTPResponse {
        var hashes: [String] = []
        var rest = Substring(html)
        while let open = rest.range(of: "<style>"), let close = rest[open.upperBound...].range(of: "</style>") {
            let style = rest[open.upperBound..<close.lowerBound]
            hashes.append("'sha256-\(Data(SHA256.hash(Array(style.utf8))).base64EncodedString())'")
            rest = rest[close.upperBound...]
        }
        var headers = HTTPHeaders([("Content-Type", "text/html; charset=utf-8")])
        headers.add(
            "Content-Security-Policy",
            "default-src 'none'; style-src \(hashes.joined(separator: " ")); frame-ancestors 'none'; base-uri 'none'; "
                + "form-action 'none'"
        )
        for (name, value) in PageHTML.securityHeaders where name != "Content-Security-Policy" {
            headers.add(name, value)
        }
        return HTTPResponse(status: 200, headers: headers, body: .bytes(Array(html.utf8)))
    }

    func page(_ title: String, _ body: String, status: Int = 200, csrf: String? = nil) -> HTTPResponse {
        var headers = HTTPHeaders([("Content-Type", "text/html; charset=utf-8")])
        for (name, value) in PageHTML.securityHeaders { headers.add(name, value) }
        let navigation = csrf.map(OperatorHTML.navigation) ?? ""
        return HTTPResponse(
            status: status,
            headers: headers,
            body: .bytes(Array(PageHTML.document(title, body, navigation: navigation).utf8))
        )
    }

    /// A `Set-Cookie` value: host-only, under `/operator/`, `Secure; HttpOnly; SameSite=Strict`.
    static func cookie(_ name: String, _ value: String, maxAge: Int64) -> String {
        "\(name)=\(value); Path=/operator/; Max-Age=\(max(0, maxAge)); Secure; HttpOnly; SameSite=Strict"
    }

    static func redirect(_ location: String) -> HTTPResponse { MemberPages.redirect(location) }
}
