import CoalitionKit
import Synchronization

/// Failed attempts in fixed windows, per member number as typed and per address. Kept in
/// memory: a restart forgets them, which only gives a guesser one more window.
struct AttemptLimits {
    struct Window {
        var start: Int64
        var failures: Int
    }

    var members: [String: Window] = [:]
    var addresses: [String: Window] = [:]

    /// Seconds until `key` may try again, or nil when it may now.
    static func wait(_ windows: [String: Window], _ key: String, limit: Int, window: Int64, at: Int64) -> Int64? {
        guard let current = windows[key], at < current.start + window, current.failures >= limit else { return nil }
        return current.start + window - at
    }

    static func add(_ windows: inout [String: Window], _ key: String, window: Int64, at: Int64) {
        if let current = windows[key], at < current.start + window {
            windows[key]!.failures = current.failures + 1
        } else {
            windows[key] = Window(start: at, failures: 1)
        }
    }

    mutating func clear(member: String) { members[member] = nil }
}

extension MemberAccess {
    /// `TOO_MANY_ATTEMPTS` with the seconds to wait, when a limit is reached.
    func checkLimits(member: String, address: String) throws(APIError) {
        let at = now().seconds
        let host = Self.host(address)
        let wait = limits.withLock { limits in
            max(
                AttemptLimits.wait(
                    limits.members,
                    member,
                    limit: policy.memberFailures,
                    window: policy.windowSeconds,
                    at: at
                )
                    ?? 0,
                AttemptLimits.wait(
                    limits.addresses,
                    host,
                    limit: policy.addressFailures,
                    window: policy.windowSeconds,
                    at: at
                )
                    ?? 0
            )
        }
        guard wait > 0 else { return }
        throw APIError(
            status: 429,
            code: .tooManyAttempts,
            message: "too many failed attempts: try again in \(wait) s",
            headers: [("Retry-After", String(wait))]
        )
    }

    func recordFailure(member: String, address: String) {
        let at = now().seconds
        let host = Self.host(address)
        limits.withLock { limits in
            AttemptLimits.add(&limits.members, member, window: policy.windowSeconds, at: at)
            AttemptLimits.add(&limits.addresses, host, window: policy.windowSeconds, at: at)
        }
    }

    /// The address without its port: `127.0.0.1:53122` is `127.0.0.1`, `[::1]:8` is `[::1]`.
    static func host(_ address: String) -> String {
        guard let colon = address.lastIndex(of: ":"), !address.hasSuffix("]") else { return address }
        let host = String(address[..<colon])
        return host.contains(":") && !host.hasPrefix("[") ? address : host
    }

    /// 10 to 128 characters, not all of one kind of character.
    static func checkStrength(_ password: String) throws(APIError) {
        let length = password.count
        guard (10...128).contains(length), Set(password).count >= 4 else {
            throw APIError(
                status: 400,
                code: .weakPassword,
                message: "choose a password of 10 to 128 characters, not one character repeated"
            )
        }
    }

    /// `pbkdf2-sha256$ITERATIONS$SALT$HASH` for `password` with a new 16-byte salt.
    static func encodedPassword(_ password: String, iterations: Int) throws -> String {
        let salt = try secureRandomBytes(16)
        let hash = try PBKDF2SHA256.derivedKey(password: Array(password.utf8), salt: salt, iterations: iterations)
        return "pbkdf2-sha256$\(iterations)$\(Hex.encode(salt))$\(Hex.encode(hash))"
    }

    /// Whether `password` is the one `encoded` was made from, compared in constant time.
    static func verify(_ password: String, against encoded: String) throws -> Bool {
        let parts = encoded.split(separator: "$").map(String.init)
        guard parts.count == 4, parts[0] == "pbkdf2-sha256", let iterations = Int(parts[1]),
            let salt = Hex.decode(parts[2].utf8), let expected = Hex.decode(parts[3].utf8)
        else { throw CoalitionError(.crypto, "a stored password hash is not in the expected form") }
        let hash = try PBKDF2SHA256.derivedKey(
            password: Array(password.utf8),
            salt: salt,
            iterations: iterations,
            byteCount: expected.count
        )
        return constantTimeEqual(hash, expected)
    }

    /// What an unknown number is checked against: the same work, never a match that counts.
    static func decoy(_ iterations: Int) -> String {
        "pbkdf2-sha256$\(iterations)$\(String(repeating: "00", count: 16))$\(String(repeating: "00", count: 32))"
    }

    static func hashHex(_ text: String) -> String { Hex.encode(SHA256.hash(Array(text.utf8))) }

    /// A code as typed, without its dashes and spaces, in capitals.
    static func normalizedCode(_ code: String) -> String {
        String(code.uppercased().filter { $0 != "-" && $0 != " " })
    }

    /// 10 random bytes as 16 characters of an alphabet without look-alikes, in groups of 4.
    static func groupedCode(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHJKMNPQRSTVWXYZ0123456789".utf8)  // 32 characters
        var bits = 0
        var value = 0
        var out: [UInt8] = []
        for byte in bytes {
            value = (value << 8) | Int(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                out.append(alphabet[(value >> bits) & 31])
            }
        }
        let text = String(decoding: out, as: UTF8.self)
        return stride(from: 0, to: text.count, by: 4).map { start in
            let from = text.index(text.startIndex, offsetBy: start)
            return String(text[from..<text.index(from, offsetBy: min(4, text.count - start))])
        }.joined(separator: "-")
    }
}
