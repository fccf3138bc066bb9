import Foundation

/// A fresh directory under the system's temporary directory, removed by `remove()`.
package struct TemporaryDirectory: Sendable {
    package let path: String

    package init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("coalition-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    package func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Where a test's SQLite ledger goes.
    package var ledgerPath: String { file("ledger.sqlite") }

    /// The names in the directory, sorted.
    package var listing: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    package func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The bytes of the file at `path`, or nil if there is none.
package func contents(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }
