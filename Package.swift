// swift-tools-version:6.0

import PackageDescription

let package = Package(
    name: "coalition",
    products: [
        .executable(name: "coalition", targets: ["CoalitionCLI"]),
        .library(name: "CoalitionKit", targets: ["CoalitionKit"]),
        .library(name: "CoalitionFiles", targets: ["CoalitionFiles"]),
        .library(name: "CoalitionSQLite", targets: ["CoalitionSQLite"]),
        .library(name: "CoalitionPostgreSQL", targets: ["CoalitionPostgreSQL"]),
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
        .target(
            name: "CoalitionSQLite",
            dependencies: ["CoalitionKit", "CoalitionFiles", "CCoalitionSQLite"]
        ),
        .systemLibrary(
            name: "CCoalitionPostgreSQL",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(
            name: "CoalitionPostgreSQL",
            // CoalitionSQLite for its state-file format only (`StateFile`), kept in a table here.
            dependencies: ["CoalitionKit", "CoalitionFiles", "CCoalitionPostgreSQL", "CoalitionSQLite"]
        ),
        .executableTarget(
            name: "CoalitionCLI",
            dependencies: ["CoalitionKit", "CoalitionFiles", "CoalitionSQLite", "CoalitionPostgreSQL", "CoalitionServer"]
        ),
        .testTarget(
            name: "CoalitionKitTests",
            // CoalitionFiles for the tests that write and read fixtures' files.
            dependencies: ["CoalitionKit", "CoalitionFiles"]
        ),
        .testTarget(
            name: "CoalitionSQLiteTests",
            dependencies: ["CoalitionKit", "CoalitionFiles", "CoalitionSQLite", "CCoalitionSQLite", "CoalitionPostgreSQL"]
        ),
        .testTarget(
            name: "CoalitionCLITests",
            // The CLI to run, and the library and store to check what it wrote.
            dependencies: ["CoalitionCLI", "CoalitionKit", "CoalitionFiles", "CoalitionSQLite", "CoalitionServer", "CoalitionPostgreSQL"]
        ),
        .testTarget(
            name: "CoalitionServerTests",
            dependencies: ["CoalitionServer", "CoalitionKit", "CoalitionFiles", "CoalitionSQLite"]
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
