/// A partner's id: 2 to 16 characters of `A-Z`, `0-9` and `-`, starting with a letter
/// (`SKYWAYS`, `HARBOR`).
///
/// Held as its ASCII bytes packed into two words (first byte highest, zeros after the last),
/// not as a `String`: a plain value, so the lots, obligations and record keys that carry one
/// copy without reference counting, and ids compare and hash as two integers. Comparing the
/// words compares the text, since a shorter id is padded with zeros.
package struct PartnerID: Hashable, Comparable, Sendable, CustomStringConvertible {
    private let high: UInt64
    private let low: UInt64

    package init(_ rawValue: String) throws {
        guard PartnerID.isValid(rawValue) else {
            throw CoalitionError(
                .unknownPartner,
                "'\(rawValue)' is not a partner id (2 to 16 of A-Z, 0-9, '-', starting with a letter)"
            )
        }
        self.init(packing: rawValue)
    }

    /// A name reserved for the network's own namespaces (it cannot be a partner's id).
    init(reserved rawValue: String) { self.init(packing: rawValue) }

    /// `text`, of 1 to 16 non-zero bytes.
    private init(packing text: String) {
        var words: (UInt64, UInt64) = (0, 0)
        let bytes = Array(text.utf8)
        precondition((1...16).contains(bytes.count) && !bytes.contains(0), "a partner id is 1 to 16 bytes")
        for (index, byte) in bytes.enumerated() {
            let shift = UInt64(56 - 8 * (index % 8))
            if index < 8 { words.0 |= UInt64(byte) << shift } else { words.1 |= UInt64(byte) << shift }
        }
        (high, low) = words
    }

    /// A partner id as the store keeps it: a partner's, or a reserved one.
    package init(stored rawValue: String) throws {
        if rawValue == PartnerID.transfers.rawValue {
            self = .transfers
        } else {
            try self.init(rawValue)
        }
    }

    static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (2...16).contains(bytes.count), (65...90).contains(bytes[0]) else { return false }
        return bytes.allSatisfy { (65...90).contains($0) || (48...57).contains($0) || $0 == 45 }
    }

    /// The id's bytes.
    package func withUTF8<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        let count = low != 0 ? 16 - low.trailingZeroBitCount / 8 : 8 - high.trailingZeroBitCount / 8
        let words = (high.bigEndian, low.bigEndian)
        return try withUnsafeBytes(of: words) { try body(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
    }

    package var rawValue: String { withUTF8 { String(decoding: $0, as: UTF8.self) } }

    package static func < (lhs: PartnerID, rhs: PartnerID) -> Bool { (lhs.high, lhs.low) < (rhs.high, rhs.low) }
    package var description: String { rawValue }
}

/// A member number as printed on a coalition card: 8 to 18 digits, the first not zero, the
/// last a Luhn check digit, so a mistyped number is caught as such.
package struct MemberNumber: Hashable, Comparable, Sendable, CustomStringConvertible {
    package let value: UInt64

    /// Parses a member number; spaces between digit groups are allowed (`6001 2345 6789`).
    package init(_ text: String) throws {
        let digits = text.utf8.filter { $0 != 32 }
        guard (8...18).contains(digits.count), digits.allSatisfy({ (48...57).contains($0) }), digits[0] != 48
        else {
            throw CoalitionError(
                .badMemberNumber,
                "'\(text)' is not a member number (8 to 18 digits, not starting with 0)"
            )
        }
        guard MemberNumber.luhnIsValid(digits) else {
            throw CoalitionError(.badMemberNumber, "'\(text)' fails its check digit: mistyped member number?")
        }
        value = UInt64(String(decoding: digits, as: UTF8.self))!
    }

    /// A Luhn-valid value, trusted as such.
    init(trusted value: UInt64) { self.value = value }

    /// A stored number used only to look a member up, not checked: a store reads lots and
    /// other rows of members it has loaded (and checked) already, and a row whose number
    /// finds no member is refused as such.
    package init(lookingUp stored: Int64) { value = UInt64(bitPattern: stored) }

    /// A member number as a store keeps it: checked digit by digit as an integer, without
    /// text, so loading a large ledger stays fast.
    package init(stored: Int64) throws {
        guard stored >= 10_000_000, stored <= 999_999_999_999_999_999 else {
            throw CoalitionError(.storeFailure, "the ledger holds \(stored), which is not a member number")
        }
        var rest = UInt64(stored)
        var sum: UInt64 = 0
        var position = 0
        while rest > 0 {
            var digit = rest % 10
            if position % 2 == 1 {
                digit *= 2
                if digit > 9 { digit -= 9 }
            }
            sum += digit
            rest /= 10
            position += 1
        }
        guard sum % 10 == 0 else {
            throw CoalitionError(.storeFailure, "the ledger holds \(stored), which fails its check digit")
        }
        value = UInt64(stored)
    }

    /// The member number made of `body` and its Luhn check digit.
    package static func withCheckDigit(_ body: UInt64) throws -> MemberNumber {
        let digits = Array(String(body).utf8) + [48]
        let sum = luhnSum(digits)
        let check = UInt64((10 - sum % 10) % 10)
        return try MemberNumber(String(body * 10 + check))
    }

    static func luhnSum(_ digits: [UInt8]) -> Int {
        var sum = 0
        for (offset, byte) in digits.reversed().enumerated() {
            var d = Int(byte) - 48
            if offset % 2 == 1 {
                d *= 2
                if d > 9 { d -= 9 }
            }
            sum += d
        }
        return sum
    }

    static func luhnIsValid(_ digits: [UInt8]) -> Bool { luhnSum(digits) % 10 == 0 }

    package static func < (lhs: MemberNumber, rhs: MemberNumber) -> Bool { lhs.value < rhs.value }
    package var description: String { String(value) }
}

/// A partner's record id: unique per partner, forever. 1 to 64 printable ASCII characters
/// without spaces or `|`.
package struct RecordKey: Hashable, Sendable, CustomStringConvertible {
    package let partner: PartnerID
    package let recordID: String

    package init(partner: PartnerID, recordID: String) throws {
        guard RecordKey.isValidID(recordID) else {
            throw CoalitionError(
                .badRecordID,
                "'\(recordID)' is not a record id (1 to 64 printable ASCII characters, no space or '|')",
                at: Place(recordID: recordID)
            )
        }
        self.partner = partner
        self.recordID = recordID
    }

    /// A key as the store keeps it: validated when it was written.
    package init(stored partner: PartnerID, _ recordID: String) {
        self.partner = partner
        self.recordID = recordID
    }

    init(trusted partner: PartnerID, _ recordID: String) {
        self.partner = partner
        self.recordID = recordID
    }

    static func isValidID(_ text: String) -> Bool {
        let bytes = text.utf8
        return (1...64).contains(bytes.count) && bytes.allSatisfy(isIDByte)
    }

    /// `isValidID` of the text these bytes decode to (a byte that is not ASCII fails either way).
    static func isValidID(bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        guard (1...64).contains(bytes.count) else { return false }
        for byte in bytes where !isIDByte(byte) { return false }
        return true
    }

    @inline(__always)
    private static func isIDByte(_ byte: UInt8) -> Bool { byte > 32 && byte < 127 && byte != 124 }

    package var description: String { "\(partner)/\(recordID)" }
}

extension PartnerID {
    /// The namespace of member-to-member transfers' idempotency keys: not a partner.
    package static let transfers = PartnerID(reserved: "~TRANSFER")
}

/// The issuer of points the coalition itself funds (referral bonuses from its marketing
/// account). No partner may have this id; in clearing it is the clearing house, which pays
/// for its points redeemed at a partner out of what it receives.
extension PartnerID {
    package static let coalition = PartnerID(reserved: "COALITION")
}
