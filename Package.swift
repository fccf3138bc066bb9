// swift-tools-version:6.0

import PackageDescription

let package = Package(
    name: "coalition",
    // One product: the `coalition` command. The modules are the package's own (`package`
    // access, not `public`): partners integrate through the documented file format and HTTP
    // API, in their own languages, never by linking our modules.
    products: [
        .executable(name: "coalition", targets: ["CoalitionCLI"])
    ],
    targets: [
        .systemLibrary(
            name: "CCoalitionOpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CCoalitionSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(
            name: "CoalitionKit",
            dependencies: ["CCoalitionOpenSSL"]
        ),
        .target(
            // The file system and the OS: signed files written and read, settlement files
            // taken in and filed, key and network files, failpoints. CoalitionKit does no I/O.
            name: "CoalitionFiles",
            dependencies: ["CoalitionKit"]
        ),
        .systemLibrary(
            name: "CCoalitionTLS",
            pkgConfig: "libssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "CoalitionServer",
            dependencies: ["CoalitionKit", "CoalitionFiles", "CoalitionSQLite", "CCoalitionTLS"]
        ),
        // What the SQLite and PostgreSQL stores share: rows decoded into the ledger's values,
        // the SQL both dialects run as it is. Not a product.
        .target(
            name: "CoalitionStoreSupport",
            dependencies: ["CoalitionKit"]
        ),
        .target(
            name: "CoalitionSQLite",
            dependencies: ["CoalitionKit", "CoalitionFiles", "CoalitionStoreSupport", "CCoalitionSQLite"]
        ),
        .systemLibrary(
            name: "CCoalitionPostgreSQL",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(
            name: "CoalitionPostgreSQL",
            // CoalitionSQLite for its state-file format only (`StateFile`), kept in a table here.
            dependencies: [
                "CoalitionKit", "CoalitionFiles", "CoalitionStoreSupport", "CCoalitionPostgreSQL", "CoalitionSQLite",
            ]
        ),
        // Bench and seed data (generated networks, members and activity): for `seed`, `bench`
        // and the tests, not part of the shipped library.
        .target(
            name: "CoalitionGeneration",
            dependencies: ["CoalitionKit", "CoalitionFiles", "CoalitionSQLite"]
        ),
        .executableTarget(
            name: "CoalitionCLI",
            dependencies: [
                "CoalitionKit", "CoalitionFiles", "CoalitionSQLite", "CoalitionPostgreSQL", "CoalitionServer",
                "CoalitionGeneration",
            ]
        ),
        // What the test targets share (temporary directories, fixtures, state and cycle
        // images, raw SQL into a store): not a product.
        .target(
            name: "CoalitionTestSupport",
            dependencies: [
                "CoalitionKit", "CoalitionFiles", "CoalitionSQLite", "CoalitionPostgreSQL", "CoalitionGeneration",
            ],
            path: "Tests/Support"
        ),
        .testTarget(
            name: "CoalitionKitTests",
            // CoalitionFiles for the tests that write and read fixtures' files.
            dependencies: ["CoalitionKit", "CoalitionFiles", "CoalitionGeneration", "CoalitionTestSupport"]
        ),
        .testTarget(
            name: "CoalitionSQLiteTests",
            dependencies: [
                "CoalitionKit", "CoalitionFiles", "CoalitionSQLite", "CCoalitionSQLite", "CoalitionPostgreSQL",
                "CoalitionGeneration", "CoalitionTestSupport",
            ]
        ),
        .testTarget(
            name: "CoalitionCLITests",
            // The CLI to run, and the library and store to check what it wrote.
            dependencies: [
                "CoalitionCLI", "CoalitionKit", "CoalitionFiles", "CoalitionSQLite", "CoalitionServer",
                "CoalitionPostgreSQL", "CoalitionGeneration", "CoalitionTestSupport",
            ]
        ),
        .testTarget(
            name: "CoalitionServerTests",
            dependencies: [
                "CoalitionServer", "CoalitionKit", "CoalitionFiles", "CoalitionSQLite", "CoalitionTestSupport",
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// Fuzz targets (libFuzzer entry points, no `main`): only when `.ci/fuzz` builds them with
// `-sanitize=fuzzer` in its own scratch path, so `swift build` and `swift test` never see them.
if Context.environment["COALITION_FUZZ"] == "1" {
    let entryPoint: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]
    package.targets += [
        .target(name: "FuzzSupport", dependencies: ["CoalitionKit"], path: "Tests/Fuzz/Support"),
        .executableTarget(
            name: "FuzzSettlementFile",
            dependencies: ["CoalitionKit", "CoalitionFiles", "FuzzSupport"],
            path: "Tests/Fuzz/FuzzSettlementFile",
            swiftSettings: entryPoint
        ),
        .executableTarget(
            name: "FuzzSignedAnswer",
            dependencies: ["CoalitionKit", "CoalitionFiles", "FuzzSupport"],
            path: "Tests/Fuzz/FuzzSignedAnswer",
            swiftSettings: entryPoint
        ),
        .executableTarget(
            name: "FuzzHTTPRequest",
            dependencies: ["CoalitionKit", "CoalitionServer"],
            path: "Tests/Fuzz/FuzzHTTPRequest",
            swiftSettings: entryPoint
        ),
    ]
}

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    // Require `any` for existential types.
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    // A file sees only the modules it imports itself.
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    target.swiftSettings = settings
}
