import CoalitionKit
import Foundation
import Testing

@testable import CoalitionServer

/// The member API served over a real socket, over a sandbox ledger with two members.
final class MemberServer {
    let sandbox: APISandbox
    let access: MemberAccess
    let clock = TestClock()
    let server: RunningServer
    let alice = SettlementLines.member(1)
    let bob = SettlementLines.member(2)

    init() throws {
        sandbox = try APISandbox()
        var policy = MemberAccess.Policy()
        policy.iterations = 1_000
        access = MemberAccess(file: CredentialFile(dataDirectory: sandbox.root), policy: policy) { [clock] in clock.now
        }
        let body =
            SettlementLines.enrolAndEarn(1, prefix: "A", miles: 20_000) + SettlementLines.enrolAndEarn(2, prefix: "B")
        #expect(try sandbox.deliver(try sandbox.settlementFile(sequence: 1, body: body)).status == 200)
        let members = MemberAPI(access: access, writer: sandbox.writer) { [clock] in clock.now }
        let pages = MemberPages(access: access, writer: sandbox.writer) { [clock] in clock.now }
        server = try RunningServer(
            testConfiguration(),
            responder: ServerResponder(partnerAPI: sandbox.api, members: members, memberPages: pages)
        )
    }

    deinit { server.stop() }

    /// One request on a new connection; the answer.
    func send(_ method: String, _ path: String, json: String? = nil, headers: [String] = []) throws -> TestResponse {
        let client = try TestClient(port: server.port)
        let body = json ?? ""
        var lines = ["\(method) \(path) HTTP/1.1", "Host: localhost", "Connection: close"] + headers
        if json != nil { lines += ["Content-Type: application/json", "Content-Length: \(body.utf8.count)"] }
        try client.send(lines.joined(separator: "\r\n") + "\r\n\r\n" + body)
        return try #require(try client.response())
    }

    /// Activates `member` with a new code and signs in: the bearer header.
    func signedIn(_ member: String, password: String = "correct horse battery") throws -> String {
        let code = try access.issueActivationCode(for: try MemberNumber(member))
        let activation = #"{"member":"\#(member)","code":"\#(code)","password":"\#(password)"}"#
        #expect(try send("POST", "/member/api/activation", json: activation).status == 204)
        let answer = try send(
            "POST",
            "/member/api/sessions",
            json: #"{"member":"\#(member)","password":"\#(password)"}"#
        )
        #expect(answer.status == 201)
        let object = try JSONSerialization.jsonObject(with: Data(answer.body)) as? [String: Any]
        return "Authorization: Bearer \(try #require(object?["token"] as? String))"
    }

    func object(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
    }
}

@Suite(.serialized) struct MemberAPITests {
    @Test func signInReadBalanceSignOut() throws {
        let served = try MemberServer()
        let bearer = try served.signedIn(served.alice)
        let balance = try served.send("GET", "/member/api/balance", headers: [bearer])
        #expect(balance.status == 200)
        #expect(balance.headers["Cache-Control"] == "no-store")
        let object = try served.object(balance)
        #expect(object["member"] as? String == served.alice)
        let held = try #require(object["balance"] as? Int)
        #expect(held > 0)
        let issuers = try #require(object["issuers"] as? [[String: Any]])
        #expect(issuers.map { $0["issuer"] as? String } == ["SKYWAYS"])
        #expect(issuers.first?["points"] as? Int == held)
        #expect((object["tier"] as? [String: Any])?["name"] as? String == "Blue")
        #expect(try served.send("DELETE", "/member/api/sessions/current", headers: [bearer]).status == 204)
        let after = try served.send("GET", "/member/api/balance", headers: [bearer])
        #expect(after.status == 401)
        #expect(after.errorCode == "SESSION_INVALID")
    }

    @Test func transfersAreIdempotentAndRefusedWithTheLedgersCodes() throws {
        let served = try MemberServer()
        let bearer = try served.signedIn(served.alice)
        let body = #"{"to":"\#(served.bob)","points":1000}"#
        let first = try served.send(
            "POST",
            "/member/api/transfers",
            json: body,
            headers: [bearer, "Idempotency-Key: t-1"]
        )
        #expect(first.status == 201)
        let again = try served.send(
            "POST",
            "/member/api/transfers",
            json: body,
            headers: [bearer, "Idempotency-Key: t-1"]
        )
        #expect(again.status == 200)
        #expect(try served.object(again)["replay"] as? Bool == true)
        #expect(try served.object(again)["posting"] as? Int == (try served.object(first)["posting"] as? Int))
        let other = #"{"to":"\#(served.bob)","points":1100}"#
        let conflict = try served.send(
            "POST",
            "/member/api/transfers",
            json: other,
            headers: [bearer, "Idempotency-Key: t-1"]
        )
        #expect(conflict.status == 409)
        #expect(conflict.errorCode == "IDEMPOTENCY_CONFLICT")
        let small = #"{"to":"\#(served.bob)","points":10}"#
        let refused = try served.send(
            "POST",
            "/member/api/transfers",
            json: small,
            headers: [bearer, "Idempotency-Key: t-2"]
        )
        #expect(refused.status == 422)
        #expect(refused.errorCode == "TRANSFER_LIMIT_EXCEEDED")
        let self_ = #"{"to":"\#(served.alice)","points":1000}"#
        #expect(
            try served.send("POST", "/member/api/transfers", json: self_, headers: [bearer, "Idempotency-Key: t-3"])
                .errorCode == "SAME_MEMBER"
        )
        #expect(try served.send("POST", "/member/api/transfers", json: body, headers: [bearer]).errorCode == "USAGE")
        // Bob sees the points; his session reads only his own account.
        let bobBearer = try served.signedIn(served.bob)
        let bob = try served.object(try served.send("GET", "/member/api/balance", headers: [bobBearer]))
        #expect(bob["member"] as? String == served.bob)
        #expect((bob["issuers"] as? [[String: Any]])?.first?["points"] as? Int ?? 0 > 1000)
    }

    /// Each movement of the period with its partner and record, the balances consistent.
    @Test func statementForAPeriod() throws {
        let served = try MemberServer()
        let bearer = try served.signedIn(served.alice)
        let answer = try served.send("GET", "/member/api/statement?from=2026-11-01&to=2026-11-30", headers: [bearer])
        #expect(answer.status == 200)
        let object = try served.object(answer)
        #expect(object["opening"] as? Int == 0)
        let lines = try #require(object["lines"] as? [[String: Any]])
        #expect(lines.compactMap { $0["record"] as? String }.contains("A-P1"))
        #expect(lines.allSatisfy { $0["partner"] as? String == "SKYWAYS" })
        let sum = lines.reduce(0) { $0 + ($1["points"] as? Int ?? 0) }
        #expect(object["closing"] as? Int == sum)
        #expect(object["expiredPending"] as? Int == 0)  // nothing of alice's is dead by 11-30
        #expect(lines.last?["balance"] as? Int == sum)
        let before = try served.send("GET", "/member/api/statement?from=2026-10-01&to=2026-10-31", headers: [bearer])
        #expect((try served.object(before)["lines"] as? [Any])?.isEmpty == true)
        let bad = try served.send("GET", "/member/api/statement?from=yesterday", headers: [bearer])
        #expect(bad.status == 400 && bad.errorCode == "USAGE")
        #expect(try served.send("GET", "/member/api/statement").status == 401)
    }

    @Test func lockOutAndUniformRefusalsOverTheSocket() throws {
        let served = try MemberServer()
        _ = try served.signedIn(served.alice)
        let wrong = #"{"member":"\#(served.alice)","password":"not the password"}"#
        let unknown = #"{"member":"\#(SettlementLines.member(77))","password":"not the password"}"#
        let a = try served.send("POST", "/member/api/sessions", json: wrong)
        let b = try served.send("POST", "/member/api/sessions", json: unknown)
        #expect(a.status == 401 && b.status == 401)
        #expect(a.body == b.body)
        for _ in 0..<4 { _ = try served.send("POST", "/member/api/sessions", json: wrong) }
        let locked = try served.send(
            "POST",
            "/member/api/sessions",
            json: #"{"member":"\#(served.alice)","password":"correct horse battery"}"#
        )
        #expect(locked.status == 429)
        #expect(locked.headers["Retry-After"] == "900")
        #expect(locked.errorCode == "TOO_MANY_ATTEMPTS")
        #expect(try served.send("GET", "/member/api/nothing").status == 404)
        #expect(try served.send("GET", "/member/api/sessions").status == 405)
        #expect(try served.send("POST", "/member/api/sessions", json: "{").errorCode == "USAGE")
    }
}
