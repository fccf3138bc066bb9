import CoalitionKit
import Foundation
import Testing

@testable import CoalitionServer

@Suite(.serialized) struct MemberPagesTests {
    func request(
        _ method: String,
        _ path: String,
        cookies: [String: String] = [:],
        form: String? = nil
    ) -> HTTPRequest {
        var headers = HTTPHeaders()
        if !cookies.isEmpty { headers.add("Cookie", cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")) }
        if form != nil { headers.add("Content-Type", "application/x-www-form-urlencoded") }
        let head = HTTPRequestHead(method: method, target: path, headers: headers, remoteAddress: "127.0.0.1:4000")
        return HTTPRequest(head: head, body: .bytes(Array((form ?? "").utf8)))
    }

    /// The value a `Set-Cookie` of `response` gives `name`, and the whole field.
    func setCookie(_ response: HTTPResponse, _ name: String) -> (value: String, field: String)? {
        for field in response.headers.fields where field.name == "Set-Cookie" && field.value.hasPrefix(name + "=") {
            let value = field.value.dropFirst(name.count + 1).prefix { $0 != ";" }
            return (String(value), field.value)
        }
        return nil
    }

    @Test func signInOverviewAndSignOutWithCSRFAndStrictHeaders() throws {
        let served = try MemberServer()
        _ = try served.signedIn(served.alice)  // activates with the default password
        let pages = MemberPages(access: served.access, writer: served.sandbox.writer) { [clock = served.clock] in
            clock.now
        }
        let form = pages.respond(to: request("GET", "/member/sign-in"))
        #expect(form.status == 200)
        let csp = try #require(form.headers["Content-Security-Policy"])
        #expect(csp.hasPrefix("default-src 'none'; style-src 'sha256-"))
        #expect(!csp.contains("unsafe"))
        let html = String(decoding: bodyBytes(form), as: UTF8.self)
        #expect(html.contains("<label for=\"member\">") && html.contains("<label for=\"password\">"))
        #expect(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"))
        let csrf = try #require(setCookie(form, "coalition_csrf"))
        #expect(csrf.field.hasSuffix("Secure; HttpOnly; SameSite=Strict"))
        #expect(html.contains("name=\"csrf\" value=\"\(csrf.value)\""))

        let credentials = "member=\(served.alice)&password=correct+horse+battery"
        // Without the token, or with another one, the form is refused before the password is checked.
        let forged = pages.respond(
            to: request("POST", "/member/sign-in", cookies: ["coalition_csrf": csrf.value], form: credentials)
        )
        #expect(forged.status == 403)
        let mismatched = pages.respond(
            to: request(
                "POST",
                "/member/sign-in",
                cookies: ["coalition_csrf": csrf.value],
                form: credentials + "&csrf=" + String(repeating: "0", count: 64)
            )
        )
        #expect(mismatched.status == 403)
        let signedIn = pages.respond(
            to: request(
                "POST",
                "/member/sign-in",
                cookies: ["coalition_csrf": csrf.value],
                form: credentials + "&csrf=\(csrf.value)"
            )
        )
        #expect(signedIn.status == 303)
        #expect(signedIn.headers["Location"] == "/member/")
        let session = try #require(setCookie(signedIn, "coalition_member"))
        #expect(
            session.field.contains("HttpOnly") && session.field.contains("Secure")
                && session.field.contains("SameSite=Strict")
        )

        let cookies = ["coalition_csrf": csrf.value, "coalition_member": session.value]
        let overview = pages.respond(to: request("GET", "/member/", cookies: cookies))
        #expect(overview.status == 200)
        let page = String(decoding: bodyBytes(overview), as: UTF8.self)
        #expect(page.contains("<svg role=\"img\" aria-label=\"Points by issuer\""))
        #expect(page.contains("<svg role=\"img\" aria-label=\"Points by expiry month\""))
        #expect(page.contains("SKYWAYS") && page.contains("Blue"))
        #expect(!page.contains("style=\""))  // no inline style attribute the policy would block

        #expect(pages.respond(to: request("POST", "/member/sign-out", cookies: cookies, form: "")).status == 403)
        let out = pages.respond(to: request("POST", "/member/sign-out", cookies: cookies, form: "csrf=\(csrf.value)"))
        #expect(out.status == 303)
        #expect(setCookie(out, "coalition_member")?.field.contains("Max-Age=0") == true)
        let after = pages.respond(to: request("GET", "/member/", cookies: cookies))
        #expect(after.status == 303 && after.headers["Location"] == "/member/sign-in")
    }

    @Test func aWrongPasswordShowsTheSameRefusalAsAnUnknownNumber() throws {
        let served = try MemberServer()
        _ = try served.signedIn(served.alice)
        let pages = MemberPages(access: served.access, writer: served.sandbox.writer) { [clock = served.clock] in
            clock.now
        }
        let token = String(repeating: "a", count: 64)
        func attempt(_ member: String) -> HTTPResponse {
            pages.respond(
                to: request(
                    "POST",
                    "/member/sign-in",
                    cookies: ["coalition_csrf": token],
                    form: "member=\(member)&password=wrong+one+here&csrf=\(token)"
                )
            )
        }
        let wrong = attempt(served.alice)
        let unknown = attempt(SettlementLines.member(55))
        #expect(wrong.status == 401 && unknown.status == 401)
        #expect(bodyBytes(wrong) == bodyBytes(unknown))
        #expect(String(decoding: bodyBytes(wrong), as: UTF8.self).contains("role=\"alert\""))
    }
}
