import CoalitionKit
import Foundation

extension MemberPages {
    /// The request's cookies by name (the first of a name wins).
    static func cookies(_ head: HTTPRequestHead) -> [String: String] {
        var out: [String: String] = [:]
        for field in head.headers.fields where field.name.lowercased() == "cookie" {
            for pair in field.value.split(separator: ";") {
                let parts = pair.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1).map(
                    String.init
                )
                if parts.count == 2, out[parts[0]] == nil { out[parts[0]] = parts[1] }
            }
        }
        return out
    }

    /// A `Set-Cookie` value: host-only, under `/member/`, `Secure; HttpOnly; SameSite=Strict`.
    static func cookie(_ name: String, _ value: String, maxAge: Int64) -> String {
        "\(name)=\(value); Path=/member/; Max-Age=\(max(0, maxAge)); Secure; HttpOnly; SameSite=Strict"
    }

    static func redirect(_ location: String) -> HTTPResponse {
        var headers = HTTPHeaders([("Location", location), ("Cache-Control", "no-store")])
        for (name, value) in PageHTML.securityHeaders where name != "Cache-Control" { headers.add(name, value) }
        return HTTPResponse(status: 303, headers: headers)
    }

    static func newToken() -> String { Hex.encode((try? secureRandomBytes(32)) ?? []) }

    /// The fields of an `application/x-www-form-urlencoded` body.
    static func form(_ request: HTTPRequest) -> [String: String] {
        guard case .bytes(let bytes) = request.body else { return [:] }
        var out: [String: String] = [:]
        for pair in String(decoding: bytes, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            if parts.count == 2, out[parts[0]] == nil { out[parts[0]] = parts[1] }
        }
        return out
    }
}

/// The member pages' HTML: one small style sheet, labelled forms, inline SVG pictures.
enum PageHTML {
    static let style = """
        body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:40rem;padding:1rem;color:#111;background:#fff}
        h1{font-size:1.4rem}label{display:block;margin-top:.8rem;font-weight:600}
        input{font:inherit;width:100%;box-sizing:border-box;padding:.5rem;border:2px solid #444;border-radius:4px}
        button{font:inherit;margin-top:1rem;padding:.6rem 1.2rem;background:#0b4f9c;color:#fff;border:0;border-radius:4px}
        button:focus,input:focus,a:focus{outline:3px solid #e07a00;outline-offset:2px}
        .error{color:#a00000;font-weight:600}svg{max-width:100%;height:auto}table{border-collapse:collapse}
        td,th{padding:.2rem .6rem;text-align:left}td.n{text-align:right}a{color:#0b4f9c}
        nav ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4rem 1rem}nav form{display:inline}
        .scroll{overflow-x:auto}caption{text-align:left;font-weight:600}
        """

    /// The strict policy: nothing but this page's own style sheet (by its hash) and forms
    /// posting to this origin.
    static let securityHeaders: [(String, String)] = [
        (
            "Content-Security-Policy",
            "default-src 'none'; style-src 'sha256-\(Data(SHA256.hash(Array(style.utf8))).base64EncodedString())'; "
                + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
    ]

    /// Text for HTML, in content and in quoted attributes (the cycle report's escaping).
    static let escape = CycleReport.escape

    static func document(_ title: String, _ body: String, navigation: String = "") -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title)) · Coalition</title><style>\(style)</style></head>
        <body>\(navigation)<main><h1>\(escape(title))</h1>
        \(body)
        </main></body></html>
        """
    }

    static func signIn(csrf: String, message: String?) -> String {
        let error = message.map { "<p class=\"error\" role=\"alert\">\(escape($0))</p>" } ?? ""
        return """
            \(error)<form method="post" action="/member/sign-in">
            <input type="hidden" name="csrf" value="\(escape(csrf))">
            <label for="member">Member number</label>
            <input id="member" name="member" inputmode="numeric" autocomplete="username" required>
            <label for="password">Password</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required>
            <button type="submit">Sign in</button></form>
            <p>New here, or given a new code? <a href="/member/activate">Activate your account</a>.</p>
            """
    }

    static func overview(_ answer: BalanceAnswer, csrf: String) -> String {
        let tier =
            answer.tier.next.map { "\(escape($0)) in \(Points.grouped(answer.tier.missing ?? 0)) qualifying points" }
            ?? "the top tier"
        var months: [String: Int64] = [:]
        for issuer in answer.issuers {
            for lot in issuer.lots { months[String(lot.expiresAt.prefix(7)), default: 0] += lot.points }
        }
        return """
            <p>Balance: <strong>\(Points.grouped(answer.balance))</strong> points, of which \
            \(Points.grouped(answer.available)) can be spent now.</p>
            <p>Tier: <strong>\(escape(answer.tier.name))</strong> with \(Points.grouped(answer.tier.qualifyingPoints)) \
            qualifying points; next: \(tier).</p>
            <h2>Points by issuer</h2>
            \(bars(answer.issuers.map { ($0.issuer, $0.points) }, label: "Points by issuer"))
            <h2>Points by expiry month</h2>
            \(bars(months.keys.sorted().map { ($0, months[$0]!) }, label: "Points by expiry month"))
            <p><a href="/member/statement">Your statement</a> · <a href="/member/tier">Tier progress</a> · \
            <a href="/member/transfer">Transfer points</a></p>
            """
    }

    /// A horizontal bar chart as inline SVG, with a text table for screen readers.
    static func bars(_ rows: [(String, Int64)], label: String) -> String {
        guard !rows.isEmpty else { return "<p>None.</p>" }
        let largest = max(1, rows.map(\.1).max() ?? 1)
        var svg = "<svg role=\"img\" aria-label=\"\(escape(label))\" viewBox=\"0 0 320 \(rows.count * 28)\" "
        svg += "xmlns=\"http://www.w3.org/2000/svg\">"
        for (index, row) in rows.enumerated() {
            let width = Int64(200) * max(0, row.1) / largest
            let y = index * 28
            svg += "<text x=\"0\" y=\"\(y + 18)\" font-size=\"12\" fill=\"#111\">\(escape(row.0))</text>"
            svg += "<rect x=\"90\" y=\"\(y + 5)\" width=\"\(width)\" height=\"18\" fill=\"#0b4f9c\"/>"
            svg +=
                "<text x=\"\(94 + width)\" y=\"\(y + 18)\" font-size=\"12\" fill=\"#111\">\(Points.grouped(row.1))</text>"
        }
        svg += "</svg>"
        let table = rows.map {
            "<tr><th scope=\"row\">\(escape($0.0))</th><td class=\"n\">\(Points.grouped($0.1))</td></tr>"
        }
        return svg + "<table aria-label=\"\(escape(label))\">\(table.joined())</table>"
    }
}
