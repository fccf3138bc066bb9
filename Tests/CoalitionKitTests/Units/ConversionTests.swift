import CoalitionKit
import CoalitionTestSupport
import Testing

@Suite("Conversion: a partner's units to points, and the rounding account")
struct ConversionTests {
    /// `count` (units, rate) pairs from `seed`: small and large amounts, rates above and below 1.
    static func cases(_ count: Int, seed: UInt64) throws -> [(Int64, Rate)] {
        var random = SeededGenerator(seed: seed)
        var out: [(Int64, Rate)] = []
        for _ in 0..<count {
            let numerator = Int64.random(in: 1...(random.chance(70) ? 100 : 1_000_000), using: &random)
            let denominator = Int64.random(in: 1...(random.chance(30) ? 100 : 1_000_000), using: &random)
            let units = Int64.random(in: 1...(random.chance(50) ? 10_000 : maximumRecordAmount), using: &random)
            out.append((units, try Rate(numerator, denominator)))
        }
        return out
    }

    @Test("earning never gives more than units × rate and loses less than one point")
    func earn() throws {
        for (units, rate) in try Self.cases(12_000, seed: 0xEA27) {
            let c = try Conversion.earn(units: units, rate: rate)
            let exact = Int128(units) * Int128(rate.numerator)  // points × denominator, exactly
            let given = Int128(c.points) * Int128(rate.denominator)
            #expect(given <= exact, "\(units) at \(rate)")
            #expect(exact - given < Int128(rate.denominator), "\(units) at \(rate) loses a whole point")
            #expect(c.convertedUnits + c.roundingUnits == units)
            #expect(c.roundingUnits >= 0)
            #expect(c.convertedUnits >= 0)
            // The converted units are the fewest that make those points.
            #expect(try rate.apply(to: c.convertedUnits, rounding: .down).value == c.points, "\(units) at \(rate)")
            if c.convertedUnits > 0 {
                #expect(try rate.apply(to: c.convertedUnits - 1, rounding: .down).value < c.points)
            }
        }
    }

    @Test("redeeming never charges less than units × rate and at most less than one point more")
    func redeem() throws {
        for (units, rate) in try Self.cases(12_000, seed: 0x2EDE) {
            let c = try Conversion.redeem(units: units, rate: rate)
            let exact = Int128(units) * Int128(rate.numerator)
            let charged = Int128(c.points) * Int128(rate.denominator)
            #expect(charged >= exact, "\(units) at \(rate)")
            #expect(charged - exact < Int128(rate.denominator), "\(units) at \(rate) charges a whole point more")
            #expect(units + c.roundingUnits == c.convertedUnits)
            #expect(c.roundingUnits >= 0)
            // The converted units are the most those points are worth.
            #expect(try rate.apply(to: c.convertedUnits, rounding: .up).value == c.points, "\(units) at \(rate)")
            #expect(try rate.apply(to: c.convertedUnits + 1, rounding: .up).value > c.points)
        }
    }

    @Test(
        "the demo rates convert as the documentation shows",
        arguments: [
            ("1/3", 10, 3, 9, 1), ("1/3", 2, 0, 0, 2), ("1/2", 7, 3, 6, 1), ("0.01", 12_345, 123, 12_300, 45),
            ("3", 5, 15, 5, 0),
        ] as [(String, Int64, Int64, Int64, Int64)]
    )
    func earnExamples(rate: String, units: Int64, points: Int64, converted: Int64, rounding: Int64) throws {
        let c = try Conversion.earn(units: units, rate: try Rate(parsing: rate))
        #expect(c.points == points)
        #expect(c.convertedUnits == converted)
        #expect(c.roundingUnits == rounding)
    }

    @Test("redeem examples: a member pays the whole point")
    func redeemExamples() throws {
        let third = try Rate(parsing: "1/3")
        let c = try Conversion.redeem(units: 10, rate: third)
        #expect(c.points == 4)
        #expect(c.convertedUnits == 12)
        #expect(c.roundingUnits == 2)
        let cents = try Conversion.redeem(units: 1, rate: try Rate(parsing: "0.01"))
        #expect(cents.points == 1)
        #expect(cents.convertedUnits == 100)
        #expect(cents.roundingUnits == 99)
    }

    @Test("obligation values round half to even in minor units")
    func value() throws {
        let cents = try Rate(parsing: "0.85")  // 0.0085 EUR per point, in cents
        #expect(try Conversion.value(of: 10, at: cents) == 8)  // 8.5 → 8
        #expect(try Conversion.value(of: 30, at: cents) == 26)  // 25.5 → 26
        #expect(try Conversion.value(of: 1, at: cents) == 1)  // 0.85 → 1
        #expect(try Conversion.value(of: -10, at: cents) == -8)
    }

    @Test("conversions that do not fit are AMOUNT_OVERFLOW")
    func overflow() throws {
        expectError(.overflow) { try Conversion.earn(units: Int64.max, rate: try Rate(2, 1)) }
        expectError(.overflow) { try Conversion.redeem(units: Int64.max, rate: try Rate(3, 2)) }
    }
}
