import CoalitionKit
import Foundation

/// The member's pages under `/member/` (`docs/members.md`): activation, sign-in, the
/// overview (balance, tier, points by issuer and by expiry month as inline SVG), the
/// statement, tier progress, transfers with a confirmation step, and sign-out.
/// Server-rendered HTML, no JavaScript, no external resource, one inline style sheet
/// allowed by its hash in a strict `Content-Security-Policy`.
///
/// The session token travels in a cookie `Secure; HttpOnly; SameSite=Strict`. Every form
/// carries a CSRF token equal to a cookie of its own (double submit), compared in constant
/// time; a POST without it is refused 403 before anything else is read.
package final class MemberPages: HTTPResponder {
    static let sessionCookie = "coalition_member"
    static let csrfCookie = "coalition_csrf"
    /// Every page path with the methods it takes.
    static let pages: [String: [String]] = [
        "/member/sign-in": ["GET", "POST"], "/member/sign-out": ["POST"], "/member/activate": ["GET", "POST"],
        "/member/": ["GET"], "/member": ["GET"], "/member/statement": ["GET"], "/member/tier": ["GET"],
        "/member/transfer": ["GET", "POST"], "/member/transfer/confirm": ["POST"],
    ]
    let access: MemberAccess
    let writer: LedgerWriter
    let now: @Sendable () -> Timestamp

    package init(access: MemberAccess, writer: LedgerWriter, now: @escaping @Sendable () -> Timestamp) {
        self.access = access
        self.writer = writer
        self.now = now
    }

    package func bodyPolicy(for head: HTTPRequestHead) -> HTTPBodyPolicy { .inMemory(maximum: 4096) }

    package func respond(to request: HTTPRequest) -> HTTPResponse {
        let head = request.head
        let cookies = Self.cookies(head)
        let csrf = cookies[Self.csrfCookie].flatMap { $0.utf8.count == 64 ? $0 : nil } ?? Self.newToken()
        var response: HTTPResponse
        let member = signedInMember(cookies)
        switch (head.method, head.path, member) {
        case ("GET", "/member/sign-in", _):
            response = page("Sign in", PageHTML.signIn(csrf: csrf, message: nil))
        case ("POST", "/member/sign-in", _):
            response = signIn(request, csrf: cookies[Self.csrfCookie])
        case ("POST", "/member/sign-out", _):
            response = signOut(request, cookies: cookies)
        case ("GET", "/member/activate", _):
            response = page("Activate your account", PageHTML.activation(csrf: csrf, member: "", message: nil))
        case ("POST", "/member/activate", _):
            response = activate(request, cookies: cookies, csrf: csrf)
        case ("GET", "/member/", .some(let member)), ("GET", "/member", .some(let member)):
            response = overview(member, csrf: csrf)
        case ("GET", "/member/statement", .some(let member)):
            response = statementPage(member, query: head.query, csrf: csrf)
        case ("GET", "/member/tier", .some(let member)):
            response = tierPage(member, csrf: csrf)
        case ("GET", "/member/transfer", .some(let member)):
            response = transferForm(member, csrf: csrf)
        case ("POST", "/member/transfer", .some(let member)):
            response = confirmTransfer(member, request, cookies: cookies, csrf: csrf)
        case ("POST", "/member/transfer/confirm", .some(let member)):
            response = performTransfer(member, request, cookies: cookies, csrf: csrf)
        case (_, let path, let member) where Self.pages[path] != nil:
            if Self.pages[path]!.contains(head.method) {
                // A page of a signed-in member, asked for without a (live) session.
                response = member == nil ? Self.redirect("/member/sign-in") : page("Not found", "", status: 404)
            } else {
                response = page("Not allowed", "<p>This page does not take that method.</p>", status: 405)
                response.headers.add("Allow", Self.pages[path]!.joined(separator: ", "))
            }
        default:
            response = page(
                "Not found",
                "<p>There is no such page. <a href=\"/member/\">Your overview</a>.</p>",
                status: 404
            )
        }
        if cookies[Self.csrfCookie] != csrf {
            response.headers.add("Set-Cookie", Self.cookie(Self.csrfCookie, csrf, maxAge: 86_400))
        }
        return response
    }

    func signIn(_ request: HTTPRequest, csrf: String?) -> HTTPResponse {
        let form = Self.form(request)
        guard let csrf, let sent = form["csrf"], constantTimeEqual(Array(csrf.utf8), Array(sent.utf8)) else {
            return page(
                "Refused",
                "<p>The form had expired. <a href=\"/member/sign-in\">Sign in again</a>.</p>",
                status: 403
            )
        }
        do {
            let session = try access.signIn(
                member: form["member"] ?? "",
                password: form["password"] ?? "",
                address: request.head.remoteAddress
            )
            var response = Self.redirect("/member/")
            let seconds = session.expiresAt.seconds - now().seconds
            response.headers.add("Set-Cookie", Self.cookie(Self.sessionCookie, session.token, maxAge: seconds))
            return response
        } catch {
            return page("Sign in", PageHTML.signIn(csrf: csrf, message: error.message), status: error.status)
        }
    }

    func signOut(_ request: HTTPRequest, cookies: [String: String]) -> HTTPResponse {
        let form = Self.form(request)
        guard let csrf = cookies[Self.csrfCookie], let sent = form["csrf"],
            constantTimeEqual(Array(csrf.utf8), Array(sent.utf8))
        else { return page("Refused", "<p>The form had expired. <a href=\"/member/\">Back</a>.</p>", status: 403) }
        if let token = cookies[Self.sessionCookie] { try? access.signOut(session: token) }
        var response = Self.redirect("/member/sign-in")
        response.headers.add("Set-Cookie", Self.cookie(Self.sessionCookie, "", maxAge: 0))
        return response
    }

    func overview(_ member: MemberNumber, csrf: String) -> HTTPResponse {
        let at = now()
        let answer = try? writer.perform { ledger in
            ledger.member(member).map { BalanceAnswer(account: $0, network: ledger.network, at: at) }
        }
        guard let answer = answer ?? nil else {
            return page("Unavailable", "<p>Your account cannot be read just now. Try again shortly.</p>", status: 503)
        }
        return page("Your points", PageHTML.overview(answer, csrf: csrf), member: member, csrf: csrf)
    }

    /// A whole page with the security headers; a signed-in member's with the links between
    /// their pages.
    func page(
        _ title: String,
        _ body: String,
        status: Int = 200,
        member: MemberNumber? = nil,
        csrf: String? = nil
    ) -> HTTPResponse {
        var headers = HTTPHeaders([("Content-Type", "text/html; charset=utf-8")])
        for (name, value) in PageHTML.securityHeaders { headers.add(name, value) }
        let navigation = member.flatMap { member in csrf.map { PageHTML.navigation(member, csrf: $0) } } ?? ""
        return HTTPResponse(
            status: status,
            headers: headers,
            body: .bytes(Array(PageHTML.document(title, body, navigation: navigation).utf8))
        )
    }
}
