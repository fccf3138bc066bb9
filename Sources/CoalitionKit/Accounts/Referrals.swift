/// Referrals: a member's code and the link a new member's enrolment makes to the member whose
/// code it gave. The rules of the bonus both are paid when the new member first earns are the
/// network's (`Partners/ReferralProgramme.swift`); paying it is the engine's (`Ledger/Referring.swift`).

/// A member's referral code: the member number enciphered under the network's code key
/// with 20 bits of redundancy, in 16 Crockford base-32 symbols and one check symbol
/// (`7K3M-Q9XB-2HDF-RT4W-Z`). Unguessable without the key (a made-up code names a member
/// about once in a million tries, and only a member who exists counts), and not the
/// member number, yet read back to it without any index.
///
/// The cipher is a 4-round Feistel network on 80 bits (two 40-bit halves); round `i`'s
/// function is the first 5 bytes of HMAC-SHA256(key, "referral" ‖ i ‖ the half, 5 bytes
/// big-endian). The plain block is the member number (60 bits) followed by 20 zero bits.
/// The check symbol is Luhn mod 32 over the 16 symbols.
package struct ReferralCode: Hashable, Sendable, CustomStringConvertible {
    /// The 80-bit enciphered block.
    let high: UInt64  // top 40 bits
    let low: UInt64  // bottom 40 bits

    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
    static let mask40: UInt64 = (1 << 40) - 1

    /// Parses a code as a member or partner types it: case does not matter, `-` and spaces
    /// are ignored, and `O`, `I`, `L` read as `0`, `1`, `1`.
    package init(_ text: String) throws {
        var values: [UInt64] = []
        for byte in text.utf8 where byte != 45 && byte != 32 {
            var c = byte
            if (97...122).contains(c) { c -= 32 }
            if c == 79 { c = 48 } else if c == 73 || c == 76 { c = 49 }
            guard let index = ReferralCode.alphabet.firstIndex(of: c), values.count < 17 else {
                throw CoalitionError(.badReferralCode, "'\(text.prefix(40))' is not a referral code")
            }
            values.append(UInt64(index))
        }
        guard values.count == 17 else {
            throw CoalitionError(.badReferralCode, "a referral code has 17 symbols, not \(values.count)")
        }
        guard ReferralCode.check(values.prefix(16)) == values[16] else {
            throw CoalitionError(.badReferralCode, "'\(text.prefix(40))' fails its check symbol: mistyped code?")
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for value in values.prefix(8) { high = high << 5 | value }
        for value in values[8..<16] { low = low << 5 | value }
        self.high = high
        self.low = low
    }

    init(member number: MemberNumber, key: [UInt8]) throws {
        // 60 bits of number, 20 zero bits.
        var left = number.value >> 20
        var right = (number.value & ((1 << 20) - 1)) << 20
        for round in 0..<4 {
            let next = left ^ (try ReferralCode.round(round, right, key: key))
            left = right
            right = next
        }
        high = left
        low = right
    }

    /// The member number inside, if the redundancy holds.
    func member(key: [UInt8]) throws -> MemberNumber {
        var left = high
        var right = low
        for round in (0..<4).reversed() {
            let previous = right ^ (try ReferralCode.round(round, left, key: key))
            right = left
            left = previous
        }
        let value = left << 20 | right >> 20
        guard right & ((1 << 20) - 1) == 0, let number = try? MemberNumber(stored: Int64(bitPattern: value)) else {
            throw CoalitionError(.unknownReferralCode, "referral code \(self) is no member's")
        }
        return number
    }

    static func round(_ index: Int, _ half: UInt64, key: [UInt8]) throws -> UInt64 {
        var message = Array("referral".utf8)
        message.append(UInt8(index))
        for shift in stride(from: 32, through: 0, by: -8) { message.append(UInt8(truncatingIfNeeded: half >> shift)) }
        let mac = try HMACSHA256.authenticationCode(for: message, using: key)
        var value: UInt64 = 0
        for byte in mac.prefix(5) { value = value << 8 | UInt64(byte) }
        return value & mask40
    }

    /// Luhn mod 32: from the right, every second symbol doubled (its base-32 digits summed).
    static func check<C: Collection>(_ values: C) -> UInt64 where C.Element == UInt64 {
        var sum: UInt64 = 0
        var double = true
        for value in values.reversed() {
            var addend = double ? value * 2 : value
            addend = addend / 32 + addend % 32
            sum += addend
            double.toggle()
        }
        return (32 - sum % 32) % 32
    }

    var symbols: [UInt64] {
        var out: [UInt64] = []
        for shift in stride(from: 35, through: 0, by: -5) { out.append(high >> UInt64(shift) & 31) }
        for shift in stride(from: 35, through: 0, by: -5) { out.append(low >> UInt64(shift) & 31) }
        return out
    }

    /// `XXXX-XXXX-XXXX-XXXX-C`.
    package var description: String {
        let values = symbols
        var out = ""
        for (index, value) in values.enumerated() {
            if index > 0 && index % 4 == 0 { out += "-" }
            out.append(Character(Unicode.Scalar(ReferralCode.alphabet[Int(value)])))
        }
        out += "-"
        out.append(Character(Unicode.Scalar(ReferralCode.alphabet[Int(ReferralCode.check(values))])))
        return out
    }
}

/// The link an enrolment with a code made: once, forever.
package struct Referral: Hashable, Sendable {
    /// The member who enrolled with the code.
    package let member: MemberNumber
    /// The member whose code it was.
    package let referrer: MemberNumber
    package let linkedAt: Timestamp
    /// The partner whose record enrolled the member.
    package let partner: PartnerID
    /// The posting of the earn that paid the bonus (nil: not paid yet).
    package var bonusSeq: Int64?
    /// Whether the bonus was taken back (its earn reversed in full in time); never paid again.
    package var isReversed: Bool

    package init(
        member: MemberNumber,
        referrer: MemberNumber,
        linkedAt: Timestamp,
        partner: PartnerID,
        bonusSeq: Int64? = nil,
        isReversed: Bool = false
    ) {
        self.member = member
        self.referrer = referrer
        self.linkedAt = linkedAt
        self.partner = partner
        self.bonusSeq = bonusSeq
        self.isReversed = isReversed
    }

    /// Whether the bonus is still to be paid.
    package var isPending: Bool { bonusSeq == nil && !isReversed }
}

/// Every referral link, by referred member, with the links each referrer made, for the limit.
package struct ReferralBook: Sendable {
    package private(set) var links: [MemberNumber: Referral] = [:]
    /// Times of each referrer's links, oldest first.
    private var made: [MemberNumber: [Timestamp]] = [:]

    package init() {}

    package var isEmpty: Bool { links.isEmpty }

    /// Adds or updates `referral` (loading, or a batch's change).
    package mutating func set(_ referral: Referral) {
        if links.updateValue(referral, forKey: referral.member) == nil {
            var times = made[referral.referrer, default: []]
            var index = times.endIndex
            while index > times.startIndex && times[index - 1] > referral.linkedAt { index -= 1 }
            times.insert(referral.linkedAt, at: index)
            made[referral.referrer] = times
        }
    }

    /// How many members `referrer` referred in the 365 days up to `time`.
    package func referred(by referrer: MemberNumber, inYearTo time: Timestamp) -> Int {
        let since = time.adding(days: -365)
        return made[referrer]?.filter { $0 > since && $0 <= time }.count ?? 0
    }
}
