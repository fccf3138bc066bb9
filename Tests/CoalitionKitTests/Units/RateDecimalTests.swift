import CoalitionKit
import Testing

@Suite("Rate: decimals for people")
struct RateDecimalTests {
    @Test(
        "a terminating rate prints as its exact decimal, any other as six places with the fraction beside",
        arguments: [
            ("11/1000", "0.011"), ("1/2", "0.5"), ("3", "3"), ("5/2", "2.5"), ("1/80", "0.0125"),
            ("1/3", "0.333333\u{2026} (1/3)"), ("2/3", "0.666666\u{2026} (2/3)"), ("7/6", "1.166666\u{2026} (7/6)"),
            ("0.000000000000000001", "0.000000000000000001"),
        ] as [(String, String)]
    )
    func prints(text: String, expected: String) throws {
        #expect(try Rate(parsing: text).decimalDescription == expected)
    }

    @Test("over generated rates: a decimal without a fraction parses back to the same rate; with one, it is that rate")
    func roundTrips() throws {
        var random = SeededGenerator(seed: 0x21D)
        for _ in 0..<2000 {
            let twos = Int64.random(in: 0...12, using: &random)
            let fives = Int64.random(in: 0...8, using: &random)
            let other: Int64 = [1, 1, 1, 3, 7, 9, 11, 13].randomElement(using: &random)!
            var denominator: Int64 = other
            for _ in 0..<twos { denominator *= 2 }
            for _ in 0..<fives { denominator *= 5 }
            let rate = try Rate(Int64.random(in: 1...1_000_000, using: &random), denominator)
            let text = rate.decimalDescription
            if let open = text.firstIndex(of: "(") {
                #expect(
                    rate.denominator % 3 == 0 || rate.denominator % 7 == 0 || rate.denominator % 11 == 0
                        || rate.denominator % 13 == 0,
                    "\(rate): \(text)"
                )
                #expect(text.hasSuffix("(\(rate))"), "\(rate): \(text)")
                #expect(text[..<open].hasSuffix("\u{2026} "), "\(rate): \(text)")
            } else {
                #expect(!text.contains("/"), "\(rate): \(text)")
                #expect(try Rate(parsing: text) == rate, "\(rate): \(text)")
            }
        }
    }
}
