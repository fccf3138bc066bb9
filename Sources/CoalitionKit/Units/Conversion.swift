/// How a partner's units become coalition points, exactly.
///
/// The rule (docs/settlement-format.md, "Conversion"):
/// - **Earning** rounds down: `points = ⌊units × rate⌋`, so a member loses less than one
///   point. The units that made whole points are `⌈points ÷ rate⌉`; the rest of the reported
///   units go to the partner's rounding account.
/// - **Redeeming** rounds up: `points = ⌈units × rate⌉`, so a member never gains from rounding.
///   The units those points are worth are `⌊points ÷ rate⌋` (at least the units reported); the
///   excess goes to the rounding account.
///
/// Either way `converted units + rounding units = reported units` (earn) or
/// `reported units + rounding units = converted units` (redeem), in whole units.
package struct Conversion: Hashable, Sendable {
    package let points: Int64
    /// The units the points are worth, as booked to the partner's converted account.
    package let convertedUnits: Int64
    /// The whole units booked to the rounding account (never negative).
    package let roundingUnits: Int64

    package static func earn(units: Int64, rate: Rate) throws -> Conversion {
        let points = try rate.apply(to: units, rounding: .down).value
        let converted = try Rate.unitsFor(points: points, rate: rate, rounding: .up)
        return Conversion(points: points, convertedUnits: converted, roundingUnits: units - converted)
    }

    package static func redeem(units: Int64, rate: Rate) throws -> Conversion {
        let points = try rate.apply(to: units, rounding: .up).value
        let converted = try Rate.unitsFor(points: points, rate: rate, rounding: .down)
        return Conversion(points: points, convertedUnits: converted, roundingUnits: converted - units)
    }

    /// The money value of `points` at `valuePerPoint` minor units, rounded half to even.
    package static func value(of points: Int64, at valuePerPoint: Rate) throws -> Int64 {
        try valuePerPoint.apply(to: points, rounding: .halfEven).value
    }
}

extension Rate {
    /// `points ÷ rate` in whole units, rounded as asked.
    package static func unitsFor(points: Int64, rate: Rate, rounding: Rounding) throws -> Int64 {
        try Rate(rate.denominator, rate.numerator).apply(to: points, rounding: rounding).value
    }
}
