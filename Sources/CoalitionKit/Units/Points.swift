/// A whole number of coalition points. Arithmetic is checked: overflow is an error, never a
/// trap or a wrap.
public struct Points: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: Int64

    public init(_ value: Int64) { self.value = value }

    public static let zero = Points(0)

    public static func < (lhs: Points, rhs: Points) -> Bool { lhs.value < rhs.value }

    public var description: String { Points.grouped(value) }

    public func adding(_ other: Points) throws -> Points {
        Points(try Checked.add(value, other.value))
    }

    public func subtracting(_ other: Points) throws -> Points {
        Points(try Checked.subtract(value, other.value))
    }

    /// `value` with thousands separators: `1,234,567`.
    public static func grouped(_ value: Int64) -> String {
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
public enum Checked {
    @inlinable
    public static func add(_ a: Int64, _ b: Int64) throws -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        if overflow { throw CoalitionError(.overflow, "\(a) + \(b) does not fit in 64 bits") }
        return sum
    }

    @inlinable
    public static func subtract(_ a: Int64, _ b: Int64) throws -> Int64 {
        let (difference, overflow) = a.subtractingReportingOverflow(b)
        if overflow { throw CoalitionError(.overflow, "\(a) - \(b) does not fit in 64 bits") }
        return difference
    }

    @inlinable
    public static func narrow(_ value: Int128) throws -> Int64 {
        guard let narrow = Int64(exactly: value) else {
            throw CoalitionError(.overflow, "\(value) does not fit in 64 bits")
        }
        return narrow
    }
}
