import CoalitionKit
import CoalitionTestSupport
import Testing

@Suite("MemberNumber: Luhn-checked card numbers")
struct MemberNumberTests {
    /// Luhn-valid numbers of 8 to 18 digits from a seeded generator.
    static func validNumbers(_ count: Int) throws -> [String] {
        var random = SeededGenerator(seed: 0x1A4)
        var out: [String] = []
        for _ in 0..<count {
            let bodyDigits = Int.random(in: 7...17, using: &random)
            var low: UInt64 = 1
            for _ in 1..<bodyDigits { low *= 10 }
            let body = UInt64.random(in: low...(low * 10 - 1), using: &random)
            out.append(try MemberNumber.withCheckDigit(body).description)
        }
        return out
    }

    @Test("valid numbers are accepted, with or without spaces")
    func accepted() throws {
        for text in try Self.validNumbers(500) {
            let number = try MemberNumber(text)
            #expect(number.description == text)
            var spaced = ""
            for (index, character) in text.enumerated() {
                if index > 0 && index % 4 == 0 { spaced.append(" ") }
                spaced.append(character)
            }
            #expect(try MemberNumber(spaced) == number)
        }
        #expect(try MemberNumber("79927398713").value == 79_927_398_713)  // the classic Luhn example
    }

    @Test("every single-digit change is caught")
    func singleDigit() throws {
        for text in try Self.validNumbers(300) {
            let digits = Array(text.utf8)
            for position in digits.indices {
                for digit in UInt8(ascii: "0")...UInt8(ascii: "9") where digit != digits[position] {
                    var changed = digits
                    changed[position] = digit
                    let typo = String(decoding: changed, as: UTF8.self)
                    expectError(.badMemberNumber) { try MemberNumber(typo) }
                }
            }
        }
    }

    /// Luhn catches every swap of two different adjacent digits except 0 and 9 (`09` ↔ `90`),
    /// its one documented blind spot; such a swap is refused only when it puts a 0 first.
    @Test("every adjacent transposition of different digits is caught, but Luhn's 09/90 blind spot")
    func transpositions() throws {
        var blindSpots = 0
        for text in try Self.validNumbers(600) {
            let digits = Array(text.utf8)
            for position in 0..<(digits.count - 1) where digits[position] != digits[position + 1] {
                var swapped = digits
                swapped.swapAt(position, position + 1)
                let typo = String(decoding: swapped, as: UTF8.self)
                let pair = Set([digits[position], digits[position + 1]])
                if pair == [UInt8(ascii: "0"), UInt8(ascii: "9")] && swapped[0] != UInt8(ascii: "0") {
                    blindSpots += 1
                    #expect(throws: Never.self) { try MemberNumber(typo) }
                } else {
                    expectError(.badMemberNumber) { try MemberNumber(typo) }
                }
            }
        }
        #expect(blindSpots > 0)
    }

    @Test(
        "not a member number",
        arguments: ["", "1234567", "0000000000", "01234567897", "1234567890123456789", "7992739871a", "-79927398713"]
    )
    func malformed(text: String) {
        expectError(.badMemberNumber) { try MemberNumber(text) }
    }

    @Test("withCheckDigit appends the Luhn digit")
    func checkDigit() throws {
        #expect(try MemberNumber.withCheckDigit(7_992_739_871).value == 79_927_398_713)
        #expect(try MemberNumber.withCheckDigit(600_100_000_000).description.count == 13)
    }
}
