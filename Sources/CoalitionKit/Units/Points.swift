/// A whole number of coalition points. Arithmetic is checked: overflow is an error, never a
/// trap or a wrap.
package struct Points: Hashable, Comparable, Sendable, CustomStringConvertible {
    package var value: Int64

    package init(_ value: Int64) { self.value = value }

    package static let zero = Points(0)

    package static func < (lhs: Points, rhs: Points) -> Bool { lhs.value < rhs.value }

    package var description: String { Points.grouped(value) }

    package func adding(_ other: Points) throws -> Points {
        Points(try Checked.add(value, other.value))
    }

    package func subtracting(_ other: Points) throws -> Points {
        Points(try Checked.subtract(value, other.value))
    }

    /// `value` with thousands separators: `1,234,567`.
    package static func grouped(_ value: Int64) -> String {
        let out = grouped(digits: String(value.magnitude))
        return value < 0 ? "-" + out : out
    }

    /// A string of digits with a comma before every group of three from the right.
    static func grouped(digits: String) -> String {
        var out = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return out
    }
}

/// Checked integer arithmetic that throws `AMOUNT_OVERFLOW` instead of trapping.
package enum Checked {
    package static func add(_ a: Int64, _ b: Int64) throws -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        if overflow { throw CoalitionError(.overflow, "\(a) + \(b) does not fit in 64 bits") }
        return sum
    }
    package static func subtract(_ a: Int64, _ b: Int64) throws -> Int64 {
        let (difference, overflow) = a.subtractingReportingOverflow(b)
        if overflow { throw CoalitionError(.overflow, "\(a) - \(b) does not fit in 64 bits") }
        return difference
    }
    package static func narrow(_ value: Int128) throws -> Int64 {
        guard let narrow = Int64(exactly: value) else {
            throw CoalitionError(.overflow, "\(value) does not fit in 64 bits")
        }
        return narrow
    }
}
