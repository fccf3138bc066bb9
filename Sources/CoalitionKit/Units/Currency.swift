/// An ISO 4217 currency and the exponent of its minor unit (2 for USD: cents).
package struct Currency: Hashable, Comparable, Sendable, CustomStringConvertible {
    package let code: String
    package let minorUnitExponent: Int

    package var description: String { code }

    package static func < (lhs: Currency, rhs: Currency) -> Bool { lhs.code < rhs.code }

    /// The currency with ISO code `code`, or `UNKNOWN_CURRENCY`.
    package init(code: String) throws {
        guard let exponent = Currency.exponents[code] else {
            throw CoalitionError(.unknownCurrency, "'\(code)' is not an ISO 4217 currency Coalition settles in")
        }
        self.code = code
        self.minorUnitExponent = exponent
    }

    /// 10 to the power of the minor-unit exponent: minor units in one major unit.
    package var minorUnitsPerMajor: Int64 {
        var result: Int64 = 1
        for _ in 0..<minorUnitExponent { result *= 10 }
        return result
    }

    /// The settlement currencies Coalition knows, with their ISO 4217 minor-unit exponents.
    static let exponents: [String: Int] = [
        "AED": 2, "AUD": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CNY": 2, "CZK": 2, "DKK": 2,
        "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2, "ILS": 2, "INR": 2, "ISK": 0, "JOD": 3, "JPY": 0,
        "KRW": 0, "KWD": 3, "MXN": 2, "NOK": 2, "NZD": 2, "OMR": 3, "PLN": 2, "QAR": 2, "SAR": 2,
        "SEK": 2, "SGD": 2, "THB": 2, "TND": 3, "TRY": 2, "USD": 2, "ZAR": 2,
    ]
}

/// An amount of money: whole minor units (cents) of one currency.
package struct Money: Hashable, Sendable, CustomStringConvertible {
    package let currency: Currency
    package var minorUnits: Int64

    package init(_ minorUnits: Int64, _ currency: Currency) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    package func adding(_ other: Money) throws -> Money {
        guard other.currency == currency else {
            throw CoalitionError(.currencyMismatch, "cannot add \(other.currency) to \(currency)")
        }
        return Money(try Checked.add(minorUnits, other.minorUnits), currency)
    }

    /// `12.34 USD`: the amount in major units with exactly the currency's decimals.
    package var description: String { "\(Money.decimal(minorUnits, exponent: currency.minorUnitExponent)) \(currency)" }

    /// `minorUnits` written in major units with `exponent` decimals and thousands separators.
    package static func decimal(_ minorUnits: Int64, exponent: Int, grouped: Bool = true) -> String {
        var scale: UInt64 = 1
        for _ in 0..<exponent { scale *= 10 }
        let magnitude = minorUnits.magnitude
        // In UInt64: the magnitude of Int64.min does not fit in an Int64.
        let whole = String(magnitude / scale)
        var text = grouped ? Points.grouped(digits: whole) : whole
        if exponent > 0 {
            let fraction = String(magnitude % scale)
            text += "." + String(repeating: "0", count: exponent - fraction.count) + fraction
        }
        return minorUnits < 0 ? "-" + text : text
    }
}
