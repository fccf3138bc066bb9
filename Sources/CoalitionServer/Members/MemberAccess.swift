import CoalitionKit
import Foundation
import Synchronization

extension ReasonCode {
    package static let activationFailed: ReasonCode = "ACTIVATION_FAILED"
    package static let weakPassword: ReasonCode = "WEAK_PASSWORD"
    package static let signInFailed: ReasonCode = "SIGN_IN_FAILED"
    package static let tooManyAttempts: ReasonCode = "TOO_MANY_ATTEMPTS"
    package static let sessionInvalid: ReasonCode = "SESSION_INVALID"
}

/// Member sign-in (`docs/members.md`): activation with a one-time code, a password stored
/// only as its PBKDF2-HMAC-SHA256 hash, sessions as random 256-bit tokens stored only as
/// their SHA-256, sign-in attempts limited per member number and per address.
///
/// No answer tells whether a member number exists: an unknown number, a number without a
/// password and a wrong password get the same refusal after the same work (a PBKDF2 run),
/// and the attempt limits count numbers as typed, known or not.
package final class MemberAccess: Sendable {
    package struct Policy: Sendable {
        /// PBKDF2 rounds for a new password (OWASP's 2023 figure for PBKDF2-HMAC-SHA256).
        package var iterations = 600_000
        package var activationSeconds: Int64 = 72 * 3600
        package var sessionSeconds: Int64 = 8 * 3600
        /// Failed sign-ins allowed per member number, and per address, in one window.
        package var memberFailures = 5
        package var addressFailures = 20
        package var windowSeconds: Int64 = 15 * 60
        package init() {}
    }

    /// A session made by signing in: the token (given to the member once, never stored).
    package struct SignedIn: Sendable {
        package let member: MemberNumber
        package let token: String
        package let expiresAt: Timestamp
    }

    package let policy: Policy
    let file: CredentialFile
    let now: @Sendable () -> Timestamp
    let limits = Mutex(AttemptLimits())

    package init(file: CredentialFile, policy: Policy = Policy(), now: @escaping @Sendable () -> Timestamp) {
        self.file = file
        self.policy = policy
        self.now = now
    }

    /// A new one-time activation code for `member`, replacing any pending one. The caller
    /// checked that the member exists. Only the code's hash is kept.
    package func issueActivationCode(for member: MemberNumber) throws -> String {
        let code = Self.groupedCode(try secureRandomBytes(10))
        let expiresAt = now().seconds + policy.activationSeconds
        try file.update { contents in
            var credential = contents.members[member.description] ?? CredentialFile.Credential()
            credential.activationCodeHash = Self.hashHex(Self.normalizedCode(code))
            credential.activationExpiresAt = expiresAt
            contents.members[member.description] = credential
        }
        return code
    }

    /// Sets `password` for `memberText` if `code` is its pending activation code (or a
    /// code issued since to reset the password). Refused alike for any other number or code.
    func activate(member memberText: String, code: String, password: String, address: String) throws(APIError) {
        try checkLimits(member: memberText, address: address)
        try Self.checkStrength(password)
        let member = try? MemberNumber(memberText)
        let codeHash = Self.hashHex(Self.normalizedCode(code))
        let at = now().seconds
        let stored = try? Self.encodedPassword(password, iterations: policy.iterations)
        var accepted = false
        do {
            try file.update { contents in
                guard let member, var credential = contents.members[member.description],
                    let expected = credential.activationCodeHash, let expiresAt = credential.activationExpiresAt,
                    at < expiresAt, constantTimeEqual(Array(expected.utf8), Array(codeHash.utf8)), let stored
                else { return }
                credential.activationCodeHash = nil
                credential.activationExpiresAt = nil
                credential.password = stored
                credential.passwordSetAt = at
                contents.members[member.description] = credential
                // A new password ends every session made with the old one.
                contents.sessions = contents.sessions.filter { $0.value.member != member.description }
                accepted = true
            }
        } catch {
            throw APIError.from(error)
        }
        guard accepted else {
            recordFailure(member: memberText, address: address)
            throw APIError(
                status: 400,
                code: .activationFailed,
                message: "the member number or the activation code is wrong, or the code has lapsed"
            )
        }
    }

    /// A new session if `password` is `memberText`'s; else `SIGN_IN_FAILED`, or
    /// `TOO_MANY_ATTEMPTS` (with `Retry-After`) once a limit is reached.
    func signIn(member memberText: String, password: String, address: String) throws(APIError) -> SignedIn {
        try checkLimits(member: memberText, address: address)
        let member = try? MemberNumber(memberText)
        do {
            let contents = try file.read()
            let encoded = member.flatMap { contents.members[$0.description]?.password }
            // Unknown numbers cost the same PBKDF2 run as known ones.
            let matches = try Self.verify(password, against: encoded ?? Self.decoy(policy.iterations))
            if let member, encoded != nil, matches {
                let token = Hex.encode(try secureRandomBytes(32))
                let at = now().seconds
                let session = CredentialFile.Session(
                    member: member.description,
                    createdAt: at,
                    expiresAt: at + policy.sessionSeconds
                )
                try file.update { contents in
                    contents.sessions = contents.sessions.filter { $0.value.expiresAt > at }
                    contents.sessions[Self.hashHex(token)] = session
                }
                limits.withLock { $0.clear(member: memberText) }
                return SignedIn(member: member, token: token, expiresAt: Timestamp(seconds: session.expiresAt))
            }
        } catch {
            throw APIError.from(error)
        }
        recordFailure(member: memberText, address: address)
        throw APIError(status: 401, code: .signInFailed, message: "the member number or the password is wrong")
    }

    /// The member whose unexpired session `token` is, or `SESSION_INVALID`.
    func member(session token: String) throws(APIError) -> MemberNumber {
        let invalid = APIError(status: 401, code: .sessionInvalid, message: "sign in again: the session has ended")
        guard token.utf8.count == 64, Hex.decode(token.utf8) != nil else { throw invalid }
        let contents: CredentialFile.Contents
        do { contents = try file.read() } catch { throw APIError.from(error) }
        guard let session = contents.sessions[Self.hashHex(token)], session.expiresAt > now().seconds,
            let member = try? MemberNumber(session.member)
        else { throw invalid }
        return member
    }

    /// Ends the session `token` (nothing if there is none).
    func signOut(session token: String) throws(APIError) {
        let key = Self.hashHex(token)
        do { try file.update { $0.sessions[key] = nil } } catch { throw APIError.from(error) }
    }
}
