import CoalitionKit
import CoalitionTestSupport
import Testing

@Suite("Currency and Money")
struct CurrencyTests {
    @Test("known currencies carry their ISO 4217 minor-unit exponent")
    func known() throws {
        #expect(try Currency(code: "USD").minorUnitExponent == 2)
        #expect(try Currency(code: "USD").minorUnitsPerMajor == 100)
        #expect(try Currency(code: "JPY").minorUnitsPerMajor == 1)
        #expect(try Currency(code: "KWD").minorUnitsPerMajor == 1000)
        #expect(try Currency(code: "EUR").description == "EUR")
    }

    @Test("an unknown code is UNKNOWN_CURRENCY", arguments: ["XYZ", "usd", "", "US", "EURO", "XXX"])
    func unknown(code: String) {
        let error = expectError(.unknownCurrency) { try Currency(code: code) }
        #expect(error?.message.contains("'\(code)'") == true)
    }

    @Test(
        "decimal writes major units with exactly the currency's decimals",
        arguments: [
            (0, 2, true, "0.00"), (5, 2, true, "0.05"), (-5, 2, true, "-0.05"), (123_456, 2, true, "1,234.56"),
            (123_456, 2, false, "1234.56"), (-123_456_789, 2, true, "-1,234,567.89"), (1_000, 0, true, "1,000"),
            (1_000, 0, false, "1000"), (1_234_567, 3, true, "1,234.567"), (7, 3, true, "0.007"),
            (Int64.max, 2, true, "92,233,720,368,547,758.07"), (Int64.min, 2, false, "-92233720368547758.08"),
            (Int64.max, 0, true, "9,223,372,036,854,775,807"), (Int64.min, 0, true, "-9,223,372,036,854,775,808"),
        ] as [(Int64, Int, Bool, String)]
    )
    func decimal(minor: Int64, exponent: Int, grouped: Bool, expected: String) {
        #expect(Money.decimal(minor, exponent: exponent, grouped: grouped) == expected)
    }

    @Test("money describes itself and adds only its own currency")
    func money() throws {
        let usd = try Currency(code: "USD")
        let eur = try Currency(code: "EUR")
        #expect(Money(1_234, usd).description == "12.34 USD")
        #expect(try Money(1_234, usd).adding(Money(-34, usd)) == Money(1_200, usd))
        expectError(.currencyMismatch) { try Money(1, usd).adding(Money(1, eur)) }
        expectError(.overflow) { try Money(Int64.max, usd).adding(Money(1, usd)) }
    }

    @Test("points group their thousands and never wrap")
    func points() throws {
        #expect(Points(1_234_567).description == "1,234,567")
        #expect(Points(-1_000).description == "-1,000")
        #expect(Points(999).description == "999")
        #expect(Points.grouped(Int64.min) == "-9,223,372,036,854,775,808")
        expectError(.overflow) { try Points(Int64.max).adding(Points(1)) }
        expectError(.overflow) { try Points(Int64.min).subtracting(Points(1)) }
        #expect(try Points(5).subtracting(Points(7)) == Points(-2))
    }
}
