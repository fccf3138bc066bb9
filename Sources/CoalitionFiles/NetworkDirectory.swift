import CoalitionKit
import Foundation

extension NetworkLoader {
    /// Loads the network defined in `directory`: its `network.json` and its `*.json` partner
    /// files, in name order.
    package static func load(directory: String) throws -> Network {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw CoalitionError(.badConfig, "cannot read the partners directory", at: Place(file: directory))
        }
        return try parse(directory: directory, names: names, read: read, keyFile: KeyFile.read)
    }

    static func read(_ path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CoalitionError(.badConfig, "cannot read the file", at: Place(file: path))
        }
        return data
    }
}
