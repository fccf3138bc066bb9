import CoalitionFiles
import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

@Suite("NetworkLoader: partner definitions, and faults named by file and field")
struct NetworkLoaderTests {
    @Test("the demo network loads with its four partners")
    func demo() throws {
        let network = try NetworkLoader.load(directory: Fixtures.partnersDirectory)
        #expect(network.partners.count == 4)
        #expect(network.sortedPartners.map(\.id.rawValue) == ["HARBOR", "MARKETPLACE", "ROADRUNNER", "SKYWAYS"])
        #expect(network.pointsLifetimeDays == 540)
        #expect(network.tiers.map(\.qualifyingPoints) == [0, 25_000, 60_000, 120_000])
        let harbor = try network.partner(Fixtures.harbor)
        #expect(harbor.kind == .hotel)
        #expect(harbor.unit.code == "HPT")
        #expect(harbor.settlementCurrency.code == "EUR")
        #expect(harbor.earnRates.entries.map(\.value) == [try Rate(1, 3), try Rate(1, 4)])
        let january = Fixtures.time("2026-01-01T00:00:00Z")
        let harborValue = try harbor.redemptionValue(at: january)
        #expect(harborValue == (try Rate(11, 10)))
        #expect(harbor.keys.map(\.id) == ["HARBOR-2025A", "HARBOR-2026A"])
        #expect(harbor.keys.allSatisfy { $0.isDemo })
        let marketplace = try network.partner(Fixtures.marketplace)
        let marketplaceValue = try marketplace.redemptionValue(at: january)
        #expect(marketplaceValue == (try Rate(17, 20)))
        expectError(.unknownPartner) { try network.partner(try PartnerID("NOBODY")) }
    }

    /// A copy of the demo partners directory with `edit` applied to the JSON object of `file`.
    static func brokenCopy(
        _ file: String,
        _ edit: (inout [String: Any]) -> Void
    ) throws -> TemporaryDirectory {
        let directory = try copyOfDemo()
        let path = directory.file(file)
        var object = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
        )
        edit(&object)
        try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).write(to: URL(fileURLWithPath: path))
        return directory
    }

    static func copyOfDemo() throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        for name in try FileManager.default.contentsOfDirectory(atPath: Fixtures.partnersDirectory)
        where name.hasSuffix(".json") {
            try FileManager.default.copyItem(
                atPath: (Fixtures.partnersDirectory as NSString).appendingPathComponent(name),
                toPath: directory.file(name)
            )
        }
        return directory
    }

    /// Loads `directory` and checks the error's code, file and field.
    static func expectFault(
        _ directory: TemporaryDirectory,
        _ code: ReasonCode,
        file: String,
        field: String?,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        defer { directory.remove() }
        let error = expectError(code, sourceLocation: sourceLocation) {
            try NetworkLoader.load(directory: directory.path)
        }
        #expect(error?.place.file == directory.file(file), sourceLocation: sourceLocation)
        #expect(error?.place.field == field, sourceLocation: sourceLocation)
        if let field {
            #expect(error?.description.contains("field \(field)") == true, sourceLocation: sourceLocation)
        }
    }

    static func entries(_ object: [String: Any], _ key: String) -> [[String: Any]] {
        object[key] as? [[String: Any]] ?? []
    }

    @Test("malformed JSON is BAD_CONFIG naming the file")
    func malformed() throws {
        let directory = try Self.copyOfDemo()
        try Data("{ \"id\": \"HARBOR\", ".utf8).write(to: URL(fileURLWithPath: directory.file("harbor.json")))
        Self.expectFault(directory, .badConfig, file: "harbor.json", field: nil)
    }

    @Test("a JSON list at the top is BAD_CONFIG")
    func notAnObject() throws {
        let directory = try Self.copyOfDemo()
        try Data("[1, 2]".utf8).write(to: URL(fileURLWithPath: directory.file("skyways.json")))
        Self.expectFault(directory, .badConfig, file: "skyways.json", field: nil)
    }

    @Test("an unknown field is refused, at the top and nested")
    func unknownField() throws {
        Self.expectFault(
            try Self.brokenCopy("harbor.json") { $0["colour"] = "blue" },
            .badConfig,
            file: "harbor.json",
            field: "colour"
        )
        Self.expectFault(
            try Self.brokenCopy("harbor.json") {
                var rates = Self.entries($0, "earnRates")
                rates[1]["bonus"] = "2"
                $0["earnRates"] = rates
            },
            .badConfig,
            file: "harbor.json",
            field: "earnRates[1].bonus"
        )
        Self.expectFault(
            try Self.brokenCopy("network.json") {
                var limits = $0["transferLimits"] as? [String: Any] ?? [:]
                limits["maximum"] = 5
                $0["transferLimits"] = limits
            },
            .badConfig,
            file: "network.json",
            field: "transferLimits.maximum"
        )
    }

    @Test("an unknown settlement currency is UNKNOWN_CURRENCY at settlementCurrency")
    func unknownCurrency() throws {
        Self.expectFault(
            try Self.brokenCopy("roadrunner.json") { $0["settlementCurrency"] = "XYZ" },
            .unknownCurrency,
            file: "roadrunner.json",
            field: "settlementCurrency"
        )
    }

    @Test("a bad rate string is BAD_RATE at its entry", arguments: ["1/0", "0", "-0.5", "1e3", "", "one"])
    func badRate(text: String) throws {
        Self.expectFault(
            try Self.brokenCopy("skyways.json") {
                var rates = Self.entries($0, "earnRates")
                rates[0]["pointsPerUnit"] = text
                $0["earnRates"] = rates
            },
            .badRate,
            file: "skyways.json",
            field: "earnRates[0].pointsPerUnit"
        )
        Self.expectFault(
            try Self.brokenCopy("marketplace.json") {
                var values = Self.entries($0, "redemptionValues")
                values[0]["valuePerPoint"] = text
                $0["redemptionValues"] = values
            },
            .badRate,
            file: "marketplace.json",
            field: "redemptionValues[0].valuePerPoint"
        )
    }

    @Test("a rate given as a number, not a string, is BAD_CONFIG")
    func rateAsNumber() throws {
        Self.expectFault(
            try Self.brokenCopy("skyways.json") {
                var rates = Self.entries($0, "earnRates")
                rates[0]["pointsPerUnit"] = 0.5
                $0["earnRates"] = rates
            },
            .badConfig,
            file: "skyways.json",
            field: "earnRates[0].pointsPerUnit"
        )
    }

    @Test(
        "a missing field is BAD_CONFIG naming it",
        arguments: [
            ("harbor.json", "unit", "unit"), ("harbor.json", "settlementCurrency", "settlementCurrency"),
            ("harbor.json", "earnRates", "earnRates"), ("harbor.json", "name", "name"), ("harbor.json", "id", "id"),
            ("network.json", "pointsLifetimeDays", "pointsLifetimeDays"), ("network.json", "tiers", "tiers"),
            ("network.json", "clearing", "clearing"),
        ]
    )
    func missing(file: String, key: String, field: String) throws {
        Self.expectFault(
            try Self.brokenCopy(file) { $0[key] = nil },
            .badConfig,
            file: file,
            field: field
        )
    }

    @Test("a missing nested field is named by its path")
    func missingNested() throws {
        Self.expectFault(
            try Self.brokenCopy("harbor.json") {
                var rates = Self.entries($0, "earnRates")
                rates[1]["from"] = nil
                $0["earnRates"] = rates
            },
            .badConfig,
            file: "harbor.json",
            field: "earnRates[1].from"
        )
        Self.expectFault(
            try Self.brokenCopy("network.json") {
                var limits = $0["transferLimits"] as? [String: Any] ?? [:]
                limits["minimum"] = nil
                $0["transferLimits"] = limits
            },
            .badConfig,
            file: "network.json",
            field: "transferLimits.minimum"
        )
    }

    @Test("two rates from the same date are BAD_CONFIG at the second's from")
    func duplicateRateDate() throws {
        Self.expectFault(
            try Self.brokenCopy("harbor.json") {
                var rates = Self.entries($0, "earnRates")
                rates[1]["from"] = "2025-01-01T00:00:00Z"  // the same instant as rates[0]'s "2025-01-01"
                $0["earnRates"] = rates
            },
            .badConfig,
            file: "harbor.json",
            field: "earnRates[1].from"
        )
    }

    @Test("a bad date is BAD_TIME at its field")
    func badDate() throws {
        Self.expectFault(
            try Self.brokenCopy("harbor.json") {
                var rates = Self.entries($0, "earnRates")
                rates[1]["from"] = "2026-02-29"
                $0["earnRates"] = rates
            },
            .badTime,
            file: "harbor.json",
            field: "earnRates[1].from"
        )
    }

    @Test("a network without a zero tier is BAD_CONFIG at tiers")
    func noZeroTier() throws {
        Self.expectFault(
            try Self.brokenCopy("network.json") {
                $0["tiers"] = Self.entries($0, "tiers").filter { ($0["qualifyingPoints"] as? Int) != 0 }
            },
            .badConfig,
            file: "network.json",
            field: "tiers"
        )
    }

    @Test("out-of-range and wrongly typed values are BAD_CONFIG at their field")
    func badValues() throws {
        Self.expectFault(
            try Self.brokenCopy("network.json") { $0["pointsLifetimeDays"] = 0 },
            .badConfig,
            file: "network.json",
            field: "pointsLifetimeDays"
        )
        Self.expectFault(
            try Self.brokenCopy("network.json") { $0["pointsLifetimeDays"] = "1095" },
            .badConfig,
            file: "network.json",
            field: "pointsLifetimeDays"
        )
        Self.expectFault(
            try Self.brokenCopy("network.json") { $0["pointsLifetimeDays"] = true },
            .badConfig,
            file: "network.json",
            field: "pointsLifetimeDays"
        )
        Self.expectFault(
            try Self.brokenCopy("harbor.json") { $0["kind"] = "casino" },
            .badConfig,
            file: "harbor.json",
            field: "kind"
        )
        Self.expectFault(
            try Self.brokenCopy("harbor.json") { $0["id"] = "harbor" },
            .badConfig,
            file: "harbor.json",
            field: "id"
        )
    }

    @Test("the same partner defined twice is BAD_CONFIG")
    func definedTwice() throws {
        let directory = try Self.copyOfDemo()
        defer { directory.remove() }
        try FileManager.default.copyItem(atPath: directory.file("harbor.json"), toPath: directory.file("harbor2.json"))
        let error = expectError(.badConfig) { try NetworkLoader.load(directory: directory.path) }
        #expect(error?.place.file == directory.file("harbor2.json"))
    }

    @Test("a directory that is missing or holds no partner is BAD_CONFIG")
    func emptyDirectory() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        expectError(.badConfig) { try NetworkLoader.load(directory: directory.file("nothing-here")) }
        try FileManager.default.copyItem(
            atPath: (Fixtures.partnersDirectory as NSString).appendingPathComponent("network.json"),
            toPath: directory.file("network.json")
        )
        let error = expectError(.badConfig) { try NetworkLoader.load(directory: directory.path) }
        #expect(error?.place.file == directory.path)
    }
}
