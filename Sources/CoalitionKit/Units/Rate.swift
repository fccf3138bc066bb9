/// An exact, positive rational rate, such as coalition points per partner unit (`"1/3"`) or
/// money per point (`"0.0125"`). Always kept in lowest terms.
package struct Rate: Hashable, Sendable, CustomStringConvertible {
    package let numerator: Int64
    package let denominator: Int64

    /// `numerator / denominator`, reduced. Both must be positive.
    package init(_ numerator: Int64, _ denominator: Int64 = 1) throws {
        guard numerator > 0, denominator > 0 else {
            throw CoalitionError(.badRate, "a rate must be positive, not \(numerator)/\(denominator)")
        }
        let divisor = Rate.gcd(numerator, denominator)
        self.numerator = numerator / divisor
        self.denominator = denominator / divisor
    }

    /// Parses `"3"`, `"0.0125"` or `"1/3"`: digits only, at most 18 of them on each side, no
    /// sign, no exponent, no spaces. Zero is not a rate.
    package init(parsing text: String) throws {
        func fail(_ why: String) -> CoalitionError {
            CoalitionError(.badRate, "'\(text)' is not a rate: \(why)")
        }
        func digits(_ part: Substring) throws -> Int64 {
            guard !part.isEmpty, part.count <= 18, part.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                throw fail("expected 1 to 18 digits, got '\(part)'")
            }
            return Int64(part)!
        }
        if let slash = text.firstIndex(of: "/") {
            let top = try digits(text[..<slash])
            let bottom = try digits(text[text.index(after: slash)...])
            guard top > 0, bottom > 0 else { throw fail("both sides must be above zero") }
            try self.init(top, bottom)
        } else if let dot = text.firstIndex(of: ".") {
            let whole = try digits(text[..<dot])
            let fractionText = text[text.index(after: dot)...]
            let fraction = try digits(fractionText)
            var scale: Int64 = 1
            for _ in 0..<fractionText.count { scale *= 10 }
            let (scaledWhole, overflow1) = whole.multipliedReportingOverflow(by: scale)
            let (top, overflow2) = scaledWhole.addingReportingOverflow(fraction)
            guard !overflow1, !overflow2 else { throw fail("too many digits") }
            guard top > 0 else { throw fail("a rate must be above zero") }
            try self.init(top, scale)
        } else {
            let whole = try digits(Substring(text))
            guard whole > 0 else { throw fail("a rate must be above zero") }
            try self.init(whole, 1)
        }
    }

    /// `"1/3"`, or `"2"` when the denominator is 1.
    package var description: String { denominator == 1 ? "\(numerator)" : "\(numerator)/\(denominator)" }

    /// The rate as a decimal, for people: exact where it terminates (`0.011`, `2.5`, `3`);
    /// otherwise six places, an ellipsis and the exact fraction beside (`0.333333… (1/3)`).
    package var decimalDescription: String {
        var rest = denominator
        var twos = 0
        var fives = 0
        while rest % 2 == 0 {
            rest /= 2
            twos += 1
        }
        while rest % 5 == 0 {
            rest /= 5
            fives += 1
        }
        let terminates = rest == 1
        let places = terminates ? max(twos, fives) : 6
        var remainder = Int128(numerator % denominator)
        var digits = ""
        for _ in 0..<places {
            remainder *= 10
            digits += String(remainder / Int128(denominator))
            remainder %= Int128(denominator)
        }
        let text = places == 0 ? "\(numerator / denominator)" : "\(numerator / denominator).\(digits)"
        return terminates ? text : "\(text)\u{2026} (\(self))"
    }

    /// This rate times `factor` (exact).
    package func scaled(by factor: Int64) throws -> Rate {
        let divisor = Rate.gcd(factor, denominator)
        let (top, overflow) = numerator.multipliedReportingOverflow(by: factor / divisor)
        guard !overflow else { throw CoalitionError(.overflow, "rate \(self) × \(factor) does not fit") }
        return try Rate(top, denominator / divisor)
    }

    /// `amount × rate`, rounded as `rounding` says, with the exact remainder.
    ///
    /// Always `result.value × denominator + result.remainder == amount × numerator`, computed
    /// in 128 bits; a result that does not fit in 64 bits is `AMOUNT_OVERFLOW`.
    package func apply(to amount: Int64, rounding: Rounding) throws -> (value: Int64, remainder: Int64) {
        let product = Int128(amount) * Int128(numerator)
        let divisor = Int128(denominator)
        var quotient = product / divisor  // truncates toward zero
        var remainder = product - quotient * divisor
        switch rounding {
        case .down:
            if remainder < 0 {
                quotient -= 1
                remainder += divisor
            }
        case .up:
            if remainder > 0 {
                quotient += 1
                remainder -= divisor
            }
        case .halfEven:
            let twice = remainder.magnitude * 2
            let sign: Int128 = product < 0 ? -1 : 1
            if twice > divisor.magnitude || (twice == divisor.magnitude && quotient % 2 != 0) {
                quotient += sign
                remainder -= sign * divisor
            }
        }
        return (try Checked.narrow(quotient), Int64(remainder))
    }

    static func gcd(_ a: Int64, _ b: Int64) -> Int64 {
        var (x, y) = (a.magnitude, b.magnitude)
        while y != 0 { (x, y) = (y, x % y) }
        return Int64(x)
    }
}

/// How a conversion rounds a result that is not whole.
package enum Rounding: Sendable {
    /// Toward negative infinity: earning never gives a fraction of a point away.
    case down
    /// Toward positive infinity: a redemption never charges a member less than its worth.
    case up
    /// To the nearest, ties to even: money values of obligations.
    case halfEven
}
