import CoalitionKit
import Foundation
import Testing

@testable import CoalitionServer

/// A browser without JavaScript: one member's cookie jar, forms posted as
/// `application/x-www-form-urlencoded`, over a real socket to the running server.
final class PageBrowser {
    let served: MemberServer
    let port: Int
    let csrfCookie: String
    var cookies: [String: String] = [:]

    init(_ served: MemberServer, port: Int? = nil, csrfCookie: String = "coalition_csrf") {
        self.served = served
        self.port = port ?? served.server.port
        self.csrfCookie = csrfCookie
    }

    @discardableResult
    func request(_ method: String, _ path: String, form: [(String, String)]? = nil) throws -> TestResponse {
        var headers: [String] = []
        if !cookies.isEmpty {
            headers.append(
                "Cookie: " + cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")
            )
        }
        let client = try TestClient(port: port)
        let body = (form ?? []).map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        var lines = ["\(method) \(path) HTTP/1.1", "Host: localhost", "Connection: close"] + headers
        if form != nil {
            lines += ["Content-Type: application/x-www-form-urlencoded", "Content-Length: \(body.utf8.count)"]
        }
        try client.send(lines.joined(separator: "\r\n") + "\r\n\r\n" + body)
        let response = try #require(try client.response())
        for field in response.headers.fields where field.name.lowercased() == "set-cookie" {
            let pair = field.value.prefix { $0 != ";" }.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { continue }
            cookies[pair[0]] = field.value.contains("Max-Age=0;") ? nil : pair[1]
        }
        return response
    }

    func get(_ path: String) throws -> TestResponse { try request("GET", path) }

    func post(_ path: String, _ fields: [(String, String)]) throws -> TestResponse {
        try request("POST", path, form: [("csrf", cookies[csrfCookie] ?? "")] + fields)
    }

    /// The value of the hidden field `name` in `html`.
    static func hidden(_ name: String, in html: String) -> String? {
        guard let range = html.range(of: "name=\"\(name)\" value=\"") else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    static func encode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// Activates `member` with a new code through the activation page and signs in.
    func activateAndSignIn(_ member: String, password: String = "correct horse battery") throws {
        let code = try served.access.issueActivationCode(for: try MemberNumber(member))
        #expect(try get("/member/activate").status == 200)
        let set = try post(
            "/member/activate",
            [("member", member), ("code", code), ("password", password), ("confirm", password)]
        )
        #expect(set.status == 200, "\(set.text)")
        #expect(set.text.contains("Your password is set"))
        let signedIn = try post("/member/sign-in", [("member", member), ("password", password)])
        #expect(signedIn.status == 303)
        #expect(cookies["coalition_member"] != nil)
    }
}

@Suite(.serialized) struct MemberPageSocketTests {
    @Test func activationRefusesAWrongCodeOrTwoDifferentPasswordsAndAFormWithoutItsToken() throws {
        let served = try MemberServer()
        let browser = PageBrowser(served)
        let code = try served.access.issueActivationCode(for: try MemberNumber(served.alice))
        #expect(try browser.get("/member/activate").text.contains("<label for=\"code\">"))
        let different = try browser.post(
            "/member/activate",
            [("member", served.alice), ("code", code), ("password", "correct horse battery"), ("confirm", "other")]
        )
        #expect(different.status == 400 && different.text.contains("The two passwords differ"))
        let wrong = try browser.post(
            "/member/activate",
            [
                ("member", served.alice), ("code", "AAAA-AAAA-AAAA-AAAA"), ("password", "correct horse battery"),
                ("confirm", "correct horse battery"),
            ]
        )
        #expect(wrong.status == 400 && wrong.text.contains("activation code is wrong"))
        let forged = try browser.request(
            "POST",
            "/member/activate",
            form: [
                ("csrf", String(repeating: "0", count: 64)), ("member", served.alice), ("code", code),
                ("password", "correct horse battery"), ("confirm", "correct horse battery"),
            ]
        )
        #expect(forged.status == 403)
        // The code was not spent by the refused forms: it still activates.
        try browser.activateAndSignIn(served.alice)
    }

    @Test func pagesOfASignedInMemberRedirectToSignInWithoutASession() throws {
        let served = try MemberServer()
        let browser = PageBrowser(served)
        for path in ["/member/", "/member/statement", "/member/tier", "/member/transfer"] {
            let answer = try browser.get(path)
            #expect(answer.status == 303, "\(path)")
            #expect(answer.headers["Location"] == "/member/sign-in")
        }
        let confirm = try browser.post("/member/transfer/confirm", [("to", served.bob), ("points", "1000")])
        #expect(confirm.status == 303)
        #expect(try browser.request("DELETE", "/member/statement").status == 405)
    }

    @Test func statementShowsEachMovementWithPartnerRecordAndReason() throws {
        let served = try MemberServer()
        let browser = PageBrowser(served)
        try browser.activateAndSignIn(served.alice)
        let page = try browser.get("/member/statement?from=2026-11-01&to=2026-11-30")
        #expect(page.status == 200)
        #expect(page.headers["Content-Security-Policy"]?.hasPrefix("default-src 'none'") == true)
        #expect(page.text.contains("<td>SKYWAYS</td><td>A-P1</td>"))
        #expect(page.text.contains("Opening balance: <strong>0</strong>"))
        #expect(page.text.contains("<th scope=\"col\">Why</th>"))
        #expect(!page.text.contains(served.alice))  // only masked on the page
        #expect(page.text.contains(MemberMask.masked(served.alice)))
        let empty = try browser.get("/member/statement?from=2026-10-01&to=2026-10-31")
        #expect(empty.text.contains("No movement in this period"))
        // An empty form (the browser sends its empty fields) means the default period.
        #expect(try browser.get("/member/statement?from=&to=").status == 200)
        let wrong = try browser.get("/member/statement?from=yesterday")
        #expect(wrong.status == 400 && wrong.text.contains("role=\"alert\""))
        // Another member's number in the query is no way in: the page takes no member.
        let other = try browser.get("/member/statement?member=\(served.bob)")
        #expect(other.status == 400 && !other.text.contains("B-P2"))
    }

    @Test func tierProgressShowsTheTiersAndWhatIsLeft() throws {
        let served = try MemberServer()
        let browser = PageBrowser(served)
        try browser.activateAndSignIn(served.alice)
        let page = try browser.get("/member/tier")
        #expect(page.status == 200)
        #expect(page.text.contains("Your tier: <strong>Blue</strong>"))
        #expect(page.text.contains("aria-label=\"Qualifying points against the tiers\""))
        #expect(page.text.contains("qualifying points away") || page.text.contains("top tier"))
    }

    @Test func transferNeedsConfirmationMovesOnceAndRefusesWithTheAPIsCodes() throws {
        let served = try MemberServer()
        let alice = PageBrowser(served)
        try alice.activateAndSignIn(served.alice)
        let bearer = try served.signedIn(served.bob, password: "bob's own password")
        func bobBalance() throws -> Int? {
            try served.object(try served.send("GET", "/member/api/balance", headers: [bearer]))["balance"] as? Int
        }
        let before = try bobBalance()
        #expect(try alice.get("/member/transfer").text.contains("<label for=\"points\">"))
        let confirmation = try alice.post("/member/transfer", [("to", served.bob), ("points", "1000")])
        #expect(confirmation.status == 200)
        #expect(confirmation.text.contains("Confirm the transfer"))
        #expect(try bobBalance() == before)  // nothing moved before the confirmation
        let key = try #require(PageBrowser.hidden("key", in: confirmation.text))
        let fields = [("key", key), ("to", served.bob), ("points", "1000")]
        let done = try alice.post("/member/transfer/confirm", fields)
        #expect(done.status == 201, "\(done.text)")
        #expect(try bobBalance() == before.map { $0 + 1000 })
        // The same confirmation sent twice (a double click, a reload) moves nothing more.
        let again = try alice.post("/member/transfer/confirm", fields)
        #expect(again.status == 200 && again.text.contains("already made"))
        #expect(try bobBalance() == before.map { $0 + 1000 })
        // The same key for another amount is the API's conflict.
        let conflict = try alice.post(
            "/member/transfer/confirm",
            [("key", key), ("to", served.bob), ("points", "1100")]
        )
        #expect(conflict.status == 409 && conflict.text.contains("IDEMPOTENCY_CONFLICT"))
        let small = try alice.post(
            "/member/transfer/confirm",
            [("key", String(repeating: "b", count: 32)), ("to", served.bob), ("points", "10")]
        )
        #expect(small.status == 422 && small.text.contains("TRANSFER_LIMIT_EXCEEDED"))
        #expect(try alice.post("/member/transfer", [("to", served.alice), ("points", "1000")]).status == 422)
        // Without the CSRF token nothing moves.
        let forged = try alice.request(
            "POST",
            "/member/transfer/confirm",
            form: [("key", String(repeating: "c", count: 32)), ("to", served.bob), ("points", "1000")]
        )
        #expect(forged.status == 403)
        #expect(try bobBalance() == before.map { $0 + 1000 })
    }

    @Test func aSessionReadsOnlyItsOwnMember() throws {
        let served = try MemberServer()
        let alice = PageBrowser(served)
        try alice.activateAndSignIn(served.alice)
        let bob = PageBrowser(served)
        try bob.activateAndSignIn(served.bob, password: "bob's own password")
        let alicePage = try alice.get("/member/statement?from=2026-11-01&to=2026-11-30")
        let bobPage = try bob.get("/member/statement?from=2026-11-01&to=2026-11-30")
        #expect(alicePage.text.contains("A-P1") && !alicePage.text.contains("B-P2"))
        #expect(bobPage.text.contains("B-P2") && !bobPage.text.contains("A-P1"))
        // Bob's session cookie with Alice's CSRF cookie is still Bob's session: the pages
        // follow the session, never a number the browser sends.
        let mixed = PageBrowser(served)
        mixed.cookies = [
            "coalition_member": bob.cookies["coalition_member"]!, "coalition_csrf": alice.cookies["coalition_csrf"]!,
        ]
        #expect(try mixed.get("/member/statement?from=2026-11-01&to=2026-11-30").text.contains("B-P2"))
        // After sign-out the cookie opens nothing.
        let stale = alice.cookies
        #expect(try alice.post("/member/sign-out", []).status == 303)
        let after = PageBrowser(served)
        after.cookies = stale
        #expect(try after.get("/member/statement").status == 303)
    }
}
