import CoalitionKit
import CoalitionTestSupport
import Foundation
import Synchronization
import Testing

@testable import CoalitionServer

/// A clock the test moves.
final class TestClock: Sendable {
    private let seconds = Mutex(APITime.now.seconds)
    var now: Timestamp { Timestamp(seconds: seconds.withLock { $0 }) }
    func advance(_ by: Int64) { seconds.withLock { $0 += by } }
}

/// Member sign-in over a data directory of its own, with cheap PBKDF2 rounds.
struct AccessSandbox {
    let root = NSTemporaryDirectory() + "coalition-access-\(UUID().uuidString)"
    let clock = TestClock()
    let access: MemberAccess
    let member = try! MemberNumber(SettlementLines.member(1))

    init() {
        var policy = MemberAccess.Policy()
        policy.iterations = 1_000
        access = MemberAccess(file: CredentialFile(dataDirectory: root), policy: policy) { [clock] in clock.now }
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }

    /// The member activated with `password`.
    func activated(_ password: String = "correct horse battery") throws -> String {
        let code = try access.issueActivationCode(for: member)
        try access.activate(member: member.description, code: code, password: password, address: "10.0.0.1:1")
        return password
    }
}

@Suite struct MemberAccessTests {
    @Test func pbkdf2MatchesRFC7914Vector() throws {
        // RFC 7914 §11: PBKDF2-HMAC-SHA256, P="passwd", S="salt", c=1, dkLen=64.
        let key = try PBKDF2SHA256.derivedKey(
            password: Array("passwd".utf8),
            salt: Array("salt".utf8),
            iterations: 1,
            byteCount: 64
        )
        #expect(Hex.encode(key).hasPrefix("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"))
    }

    @Test func activationSetsAPasswordStoredOnlyAsItsHash() throws {
        let sandbox = AccessSandbox()
        defer { sandbox.remove() }
        let code = try sandbox.access.issueActivationCode(for: sandbox.member)
        #expect(code.count == 19)
        try sandbox.access.activate(
            member: sandbox.member.description,
            code: code.lowercased(),
            password: "a long pass phrase",
            address: "x:1"
        )
        let path = sandbox.root + "/access/members.json"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains("a long pass phrase") && !text.contains(code))
        #expect(text.contains("pbkdf2-sha256$1000$"))
        #expect((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) == 0o600)
        // The code is one-time.
        #expect(throws: APIError.self) {
            try sandbox.access.activate(
                member: sandbox.member.description,
                code: code,
                password: "another pass phrase",
                address: "x:1"
            )
        }
        let signedIn = try sandbox.access.signIn(
            member: sandbox.member.description,
            password: "a long pass phrase",
            address: "x:1"
        )
        #expect(signedIn.token.utf8.count == 64)
        #expect(!(try String(contentsOfFile: path, encoding: .utf8)).contains(signedIn.token))
        #expect(try sandbox.access.member(session: signedIn.token) == sandbox.member)
    }

    @Test func lapsedCodesAndWeakPasswordsAreRefused() throws {
        let sandbox = AccessSandbox()
        defer { sandbox.remove() }
        let code = try sandbox.access.issueActivationCode(for: sandbox.member)
        let weak = #expect(throws: APIError.self) {
            try sandbox.access.activate(
                member: sandbox.member.description,
                code: code,
                password: "aaaaaaaaaaaa",
                address: "x:1"
            )
        }
        #expect(weak?.code == .weakPassword)
        sandbox.clock.advance(72 * 3600)
        let lapsed = #expect(throws: APIError.self) {
            try sandbox.access.activate(
                member: sandbox.member.description,
                code: code,
                password: "a long pass phrase",
                address: "x:1"
            )
        }
        #expect(lapsed?.code == .activationFailed)
    }

    /// An unknown number, a number never activated and a wrong password read the same.
    @Test func refusalsDoNotTellWhetherAMemberExists() throws {
        let sandbox = AccessSandbox()
        defer { sandbox.remove() }
        _ = try sandbox.activated()
        let attempts = [
            (sandbox.member.description, "wrong password!"),
            (SettlementLines.member(2), "correct horse battery"),
            ("12345", "correct horse battery"),
        ]
        var answers: [String] = []
        for (number, password) in attempts {
            let error = #expect(throws: APIError.self) {
                try sandbox.access.signIn(member: number, password: password, address: "10.0.0.\(answers.count):1")
            }
            answers.append("\(error?.status ?? 0) \(error?.code.rawValue ?? "") \(error?.message ?? "")")
        }
        #expect(Set(answers).count == 1)
        #expect(answers[0].hasPrefix("401 SIGN_IN_FAILED"))
    }

    @Test func attemptsAreLimitedPerMemberAndPerAddress() throws {
        let sandbox = AccessSandbox()
        defer { sandbox.remove() }
        let password = try sandbox.activated()
        let number = sandbox.member.description
        for index in 0..<5 {
            #expect(throws: APIError.self) {
                try sandbox.access.signIn(member: number, password: "nope nope nope", address: "10.1.0.\(index):1")
            }
        }
        sandbox.clock.advance(60)
        let locked = #expect(throws: APIError.self) {
            try sandbox.access.signIn(member: number, password: password, address: "10.2.0.1:1")
        }
        #expect(locked?.status == 429)
        #expect(locked?.message == "too many failed attempts: try again in 840 s")
        #expect(locked?.headers.first { $0.name == "Retry-After" }?.value == "840")
        sandbox.clock.advance(840)
        #expect(
            try sandbox.access.signIn(member: number, password: password, address: "10.2.0.1:1").member
                == sandbox.member
        )
        // Per address: 20 failures over many numbers lock the address, not the members.
        for n in 0..<20 {
            #expect(throws: APIError.self) {
                try sandbox.access.signIn(
                    member: SettlementLines.member(100 + n),
                    password: "x1234567890",
                    address: "10.9.9.9:\(n)"
                )
            }
        }
        let address = #expect(throws: APIError.self) {
            try sandbox.access.signIn(member: number, password: password, address: "10.9.9.9:5000")
        }
        #expect(address?.code == .tooManyAttempts)
        #expect(
            try sandbox.access.signIn(member: number, password: password, address: "10.9.9.10:1").member
                == sandbox.member
        )
    }

    @Test func sessionsExpireAndEndOnSignOut() throws {
        let sandbox = AccessSandbox()
        defer { sandbox.remove() }
        let password = try sandbox.activated()
        let first = try sandbox.access.signIn(member: sandbox.member.description, password: password, address: "x:1")
        let second = try sandbox.access.signIn(member: sandbox.member.description, password: password, address: "x:1")
        try sandbox.access.signOut(session: first.token)
        #expect(throws: APIError.self) { try sandbox.access.member(session: first.token) }
        #expect(try sandbox.access.member(session: second.token) == sandbox.member)
        sandbox.clock.advance(8 * 3600)
        let expired = #expect(throws: APIError.self) { try sandbox.access.member(session: second.token) }
        #expect(expired?.code == .sessionInvalid)
        // A new password (a new code) ends every session.
        let third = try sandbox.access.signIn(member: sandbox.member.description, password: password, address: "x:1")
        _ = try sandbox.activated("a brand new phrase")
        #expect(throws: APIError.self) { try sandbox.access.member(session: third.token) }
    }
}
