import CoalitionKit
import CoalitionTestSupport
import Testing

@Suite("Rate: parsing and exact rounding")
struct RateTests {
    @Test(
        "parses digits, decimals and fractions into lowest terms",
        arguments: [
            ("3", 3, 1), ("0.0125", 1, 80), ("1/3", 1, 3), ("6/4", 3, 2), ("0.010", 1, 100), ("2.5", 5, 2),
            ("000000000000000001", 1, 1), ("999999999999999999", 999_999_999_999_999_999, 1),
            ("0.000000000000000001", 1, 1_000_000_000_000_000_000),
        ] as [(String, Int64, Int64)]
    )
    func parses(text: String, numerator: Int64, denominator: Int64) throws {
        let rate = try Rate(parsing: text)
        #expect(rate.numerator == numerator)
        #expect(rate.denominator == denominator)
    }

    @Test(
        "refuses what is not a positive rate with BAD_RATE",
        arguments: [
            "", "0", "-1", "1/0", "0/3", "1e3", " 1", "1 ", "1.", ".5", "1/", "/2", "+1", "0.0", "00", "1/2/3",
            "1.2.3", "1,5", "½", "١", "1234567890123456789", "0.1234567890123456789", "1/1234567890123456789",
            "999999999999999999.99",
        ]
    )
    func refuses(text: String) {
        let error = expectError(.badRate) { try Rate(parsing: text) }
        #expect(error?.message.contains("'\(text)'") == true)
    }

    @Test("describes itself as it parses")
    func describes() throws {
        #expect(try Rate(parsing: "1/3").description == "1/3")
        #expect(try Rate(parsing: "0.50").description == "1/2")
        #expect(try Rate(parsing: "7").description == "7")
        #expect(try Rate(parsing: try Rate(parsing: "0.0085").description) == Rate(17, 2000))
    }

    @Test("refuses a zero or negative numerator or denominator")
    func refusesNonPositive() {
        expectError(.badRate) { try Rate(0, 1) }
        expectError(.badRate) { try Rate(1, 0) }
        expectError(.badRate) { try Rate(-1, 2) }
        expectError(.badRate) { try Rate(1, -2) }
    }

    /// `amount × rate` with the engine's identity checked in 128 bits, and the remainder
    /// bounds of each rounding mode.
    static func check(_ amount: Int64, _ rate: Rate, _ rounding: Rounding) throws -> Int64 {
        let result = try rate.apply(to: amount, rounding: rounding)
        let product = Int128(amount) * Int128(rate.numerator)
        let denominator = Int128(rate.denominator)
        let remainder = Int128(result.remainder)
        #expect(Int128(result.value) * denominator + remainder == product, "\(amount) × \(rate) \(rounding)")
        switch rounding {
        case .down:
            #expect(remainder >= 0 && remainder < denominator, "\(amount) × \(rate) down: \(result)")
        case .up:
            #expect(remainder <= 0 && remainder > -denominator, "\(amount) × \(rate) up: \(result)")
        case .halfEven:
            let twice = 2 * remainder.magnitude
            #expect(twice <= denominator.magnitude, "\(amount) × \(rate) half-even: \(result)")
            if twice == denominator.magnitude {
                #expect(result.value % 2 == 0, "tie of \(amount) × \(rate) must go to even, got \(result)")
            }
        }
        return result.value
    }

    @Test("apply keeps value × denominator + remainder == amount × numerator, within each mode's bounds")
    func applyIdentity() throws {
        var random = SeededGenerator(seed: 0x5EED_0001)
        for _ in 0..<20_000 {
            let numerator = Int64.random(in: 1...(random.chance(50) ? 1_000 : 1_000_000_000), using: &random)
            let denominator = Int64.random(in: 1...(random.chance(50) ? 1_000 : 1_000_000_000), using: &random)
            let rate = try Rate(numerator, denominator)
            let limit: Int64 = random.chance(50) ? 10_000 : 1_000_000_000
            let amount = Int64.random(in: -limit...limit, using: &random)
            let down = try Self.check(amount, rate, .down)
            let up = try Self.check(amount, rate, .up)
            let even = try Self.check(amount, rate, .halfEven)
            let isExact = Int128(amount) * Int128(rate.numerator) % Int128(rate.denominator) == 0
            #expect(isExact ? up == down : up == down + 1)
            #expect(even == down || even == up)
        }
    }

    @Test(
        "half-even sends ties to the even neighbour, in both directions",
        arguments: [
            (5, 2, 2), (7, 2, 4), (-5, 2, -2), (-7, 2, -4), (1, 2, 0), (-1, 2, 0), (3, 2, 2), (10, 4, 2),
            (6, 4, 2), (14, 4, 4), (9, 2, 4), (11, 2, 6),
        ] as [(Int64, Int64, Int64)]
    )
    func halfEvenTies(amount: Int64, denominator: Int64, expected: Int64) throws {
        let rate = try Rate(1, denominator)
        #expect(try Self.check(amount, rate, .halfEven) == expected)
    }

    @Test("half-even rounds a non-tie to the nearest")
    func halfEvenNearest() throws {
        let third = try Rate(1, 3)
        #expect(try third.apply(to: 4, rounding: .halfEven).value == 1)
        #expect(try third.apply(to: 5, rounding: .halfEven).value == 2)
        #expect(try third.apply(to: -5, rounding: .halfEven).value == -2)
        #expect(try third.apply(to: -4, rounding: .halfEven).value == -1)
    }

    @Test("a result beyond 64 bits is AMOUNT_OVERFLOW, never a trap")
    func overflow() throws {
        let huge = try Rate(Int64.max, 1)
        for rounding in [Rounding.down, .up, .halfEven] {
            expectError(.overflow) { try huge.apply(to: 2, rounding: rounding) }
            expectError(.overflow) { try huge.apply(to: Int64.min, rounding: rounding) }
            expectError(.overflow) { try Rate(3, 2).apply(to: Int64.max, rounding: rounding) }
        }
        // At the edge, still exact.
        #expect(try huge.apply(to: 1, rounding: .up).value == Int64.max)
        #expect(try huge.apply(to: -1, rounding: .down).value == -Int64.max)
        #expect(try Rate(1, 2).apply(to: Int64.max, rounding: .up).value == Int64.max / 2 + 1)
        #expect(try Rate(1, 2).apply(to: Int64.min, rounding: .down).value == Int64.min / 2)
        expectError(.overflow) { try huge.scaled(by: 2) }
        #expect(try Rate(1, 3).scaled(by: 6) == Rate(2, 1))
        #expect(try Rate(11, 1000).scaled(by: 100) == Rate(11, 10))
    }

    @Test("unitsFor inverts a rate with the rounding asked for")
    func unitsFor() throws {
        let third = try Rate(1, 3)
        #expect(try Rate.unitsFor(points: 5, rate: third, rounding: .down) == 15)
        let twoThirds = try Rate(2, 3)
        #expect(try Rate.unitsFor(points: 5, rate: twoThirds, rounding: .down) == 7)
        #expect(try Rate.unitsFor(points: 5, rate: twoThirds, rounding: .up) == 8)
    }
}
