import Foundation

/// A fresh directory under the system's temporary directory, removed by `remove()`.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("coalition-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Where a test's SQLite ledger goes.
    public var ledgerPath: String { file("ledger.sqlite") }

    /// The names in the directory, sorted.
    public var listing: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// The bytes of the file at `path`, or nil if there is none.
public func contents(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }
