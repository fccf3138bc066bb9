import CoalitionFiles
import CoalitionKit
import Foundation

/// Paths and values the test targets share; each target adds its own in an extension.
package enum Fixtures {
    /// The package root, derived from this file's place in `Tests/Support/`.
    package static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The demo network's definition in `partners/`.
    package static let partnersDirectory = (packageRoot as NSString).appendingPathComponent("partners")

    /// The demo network, loaded once.
    package static let network: Network = {
        do {
            return try NetworkLoader.load(directory: partnersDirectory)
        } catch {
            fatalError("the demo network in \(partnersDirectory) does not load: \(error)")
        }
    }()

    package static func time(_ text: String) -> Timestamp { try! Timestamp(parsing: text) }
}
