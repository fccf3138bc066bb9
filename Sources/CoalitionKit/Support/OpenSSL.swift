import CCoalitionOpenSSL

// The one file that talks to libcrypto. Everything else calls these types.

/// SHA-256 through OpenSSL's EVP interface, with a context reused across messages.
package final class SHA256 {
    private let context: OpaquePointer
    private let digest: OpaquePointer

    package static let byteCount = 32

    package init() {
        guard let context = EVP_MD_CTX_new(), let digest = EVP_MD_fetch(nil, "SHA256", nil) else {
            fatalError("libcrypto cannot make a SHA-256 context: the OpenSSL installation is broken")
        }
        self.context = context
        self.digest = digest
        reset()
    }

    deinit {
        EVP_MD_CTX_free(context)
        EVP_MD_free(digest)
    }

    /// Starts a new message.
    package func reset() {
        EVP_DigestInit_ex2(context, digest, nil)
    }

    package func update(_ bytes: UnsafeRawBufferPointer) {
        if bytes.count > 0 { EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) }
    }

    package func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    package func update(_ text: String) {
        var text = text
        text.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    /// The digest of everything since the last reset; starts a new message.
    package func finish() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: SHA256.byteCount)
        var length: UInt32 = 0
        out.withUnsafeMutableBufferPointer { _ = EVP_DigestFinal_ex(context, $0.baseAddress, &length) }
        reset()
        return out
    }

    /// The digest of everything since the last reset, written over `out` (32 bytes); starts
    /// a new message. No buffer is made for it.
    package func finish(into out: UnsafeMutableRawBufferPointer) {
        precondition(out.count == SHA256.byteCount, "a SHA-256 digest is 32 bytes")
        var length: UInt32 = 0
        _ = EVP_DigestFinal_ex(context, out.baseAddress?.assumingMemoryBound(to: UInt8.self), &length)
        reset()
    }

    /// The digest of `bytes` in one call.
    package static func hash(_ bytes: [UInt8]) -> [UInt8] {
        let hasher = SHA256()
        hasher.update(bytes)
        return hasher.finish()
    }
}

/// HMAC-SHA256 through OpenSSL's EVP_MAC, fed in pieces so a file never needs to be in memory
/// whole.
package final class HMACSHA256 {
    private let context: OpaquePointer

    package static let byteCount = 32

    /// A MAC keyed with `key`; an empty key is refused.
    package init(key: [UInt8]) throws {
        guard !key.isEmpty else { throw CoalitionError(.badKey, "an HMAC key must not be empty") }
        let made = key.withUnsafeBufferPointer { coalition_hmac_sha256_new($0.baseAddress, $0.count) }
        guard let made else { throw CoalitionError(.crypto, "libcrypto cannot make an HMAC-SHA256 context") }
        context = made
    }

    deinit { EVP_MAC_CTX_free(context) }

    package func update(_ bytes: UnsafeRawBufferPointer) {
        if bytes.count > 0 {
            EVP_MAC_update(context, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), bytes.count)
        }
    }

    package func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The authentication code of everything fed so far. The context is spent after this.
    package func finish() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: HMACSHA256.byteCount)
        var length = 0
        out.withUnsafeMutableBufferPointer { _ = EVP_MAC_final(context, $0.baseAddress, &length, $0.count) }
        return out
    }

    /// The HMAC-SHA256 of `message` under `key`.
    package static func authenticationCode(for message: [UInt8], using key: [UInt8]) throws -> [UInt8] {
        let mac = try HMACSHA256(key: key)
        mac.update(message)
        return mac.finish()
    }

    /// Whether `code` authenticates `message` under `key`, compared in constant time.
    package static func isValidAuthenticationCode(
        _ code: [UInt8],
        authenticating message: [UInt8],
        using key: [UInt8]
    ) throws -> Bool {
        constantTimeEqual(code, try authenticationCode(for: message, using: key))
    }
}

/// Whether `a` and `b` hold the same bytes, in time that depends only on their length
/// (`CRYPTO_memcmp`). Never compare MACs with `==`.
package func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    if a.isEmpty { return true }
    return a.withUnsafeBytes { x in
        b.withUnsafeBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, a.count) == 0 }
    }
}

/// `count` bytes from OpenSSL's cryptographically secure generator.
package func secureRandomBytes(_ count: Int) throws -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    let status = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
    guard status == 1 else { throw CoalitionError(.crypto, "RAND_bytes failed: the generator is not seeded") }
    return out
}

/// Lowercase hex of `bytes`, and back.
package enum Hex {
    package static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of lowercase or uppercase hex `text`, or nil if it is not hex.
    package static func decode<S: Sequence>(_ text: S) -> [UInt8]? where S.Element == UInt8 {
        var out = [UInt8]()
        var high: UInt8?
        for c in text {
            let nibble: UInt8
            switch c {
            case 48...57: nibble = c - 48
            case 97...102: nibble = c - 87
            case 65...70: nibble = c - 55
            default: return nil
            }
            if let h = high {
                out.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        return high == nil ? out : nil
    }
}

/// PBKDF2-HMAC-SHA256 (RFC 8018) through libcrypto's `PKCS5_PBKDF2_HMAC`: how member
/// passwords are stretched before their hash is stored.
package enum PBKDF2SHA256 {
    /// The key derived from `password` and `salt` with `iterations` rounds, `byteCount`
    /// bytes long.
    package static func derivedKey(
        password: [UInt8],
        salt: [UInt8],
        iterations: Int,
        byteCount: Int = 32
    ) throws -> [UInt8] {
        guard iterations > 0, iterations <= Int(Int32.max), !salt.isEmpty, byteCount > 0 else {
            throw CoalitionError(.crypto, "PBKDF2 needs a salt, at least one round and a key length")
        }
        var out = [UInt8](repeating: 0, count: byteCount)
        let status = password.withUnsafeBytes { passwordBytes in
            salt.withUnsafeBufferPointer { saltBytes in
                out.withUnsafeMutableBufferPointer { outBytes in
                    PKCS5_PBKDF2_HMAC(
                        passwordBytes.baseAddress?.assumingMemoryBound(to: CChar.self),
                        Int32(password.count),
                        saltBytes.baseAddress,
                        Int32(salt.count),
                        Int32(iterations),
                        EVP_sha256(),
                        Int32(byteCount),
                        outBytes.baseAddress
                    )
                }
            }
        }
        guard status == 1 else { throw CoalitionError(.crypto, "PKCS5_PBKDF2_HMAC failed") }
        return out
    }
}
