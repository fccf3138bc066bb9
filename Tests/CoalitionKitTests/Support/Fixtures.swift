import CoalitionFiles
import CoalitionKit
import Foundation
import Testing

/// Paths and values the tests share.
enum Fixtures {
    /// The package root, derived from this file's place in `Tests/CoalitionKitTests/Support/`.
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The demo network's definition in `partners/`.
    static let partnersDirectory = (packageRoot as NSString).appendingPathComponent("partners")

    /// The demo network, loaded once.
    static let network: Network = {
        do {
            return try NetworkLoader.load(directory: partnersDirectory)
        } catch {
            fatalError("the demo network in \(partnersDirectory) does not load: \(error)")
        }
    }()

    static let skyways = try! PartnerID("SKYWAYS")
    static let harbor = try! PartnerID("HARBOR")
    static let marketplace = try! PartnerID("MARKETPLACE")
    static let roadrunner = try! PartnerID("ROADRUNNER")

    static func time(_ text: String) -> Timestamp { try! Timestamp(parsing: text) }

    static func member(_ index: Int) -> MemberNumber { try! MemberNumber.withCheckDigit(700_000_000 + UInt64(index)) }
}

/// A fresh directory under the system's temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("coalition-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Runs `body` and returns the `CoalitionError` it throws; records an issue if it throws
/// nothing or something else.
@discardableResult
func expectError<T>(
    _ code: ReasonCode,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> T
) -> CoalitionError? {
    do {
        let value = try body()
        Issue.record("expected \(code), got a value: \(value)", sourceLocation: sourceLocation)
        return nil
    } catch let error as CoalitionError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
