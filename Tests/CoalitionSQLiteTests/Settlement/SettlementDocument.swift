import Foundation
import Testing

/// The worked example of `docs/settlement-format.md`, read from the page itself, so the page
/// and the code cannot drift apart.
enum SettlementDocument {
    /// The lines of the fenced block that follows the line `<!-- marker -->`, each with its
    /// LF, as bytes.
    static func block(_ marker: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [UInt8] {
        let text = try String(contentsOfFile: SettlementPaths.formatDocument, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let markerIndex = try #require(
            lines.firstIndex { $0 == "<!-- \(marker) -->" },
            "no <!-- \(marker) --> in the format document",
            sourceLocation: sourceLocation
        )
        let open = try #require(
            lines[(markerIndex + 1)...].firstIndex { $0.hasPrefix("```") },
            "no fenced block after <!-- \(marker) -->",
            sourceLocation: sourceLocation
        )
        let close = try #require(
            lines[(open + 1)...].firstIndex { $0 == "```" },
            "the block after <!-- \(marker) --> does not end",
            sourceLocation: sourceLocation
        )
        return Array(lines[(open + 1)..<close].map { $0 + "\n" }.joined().utf8)
    }

    /// The published test key: the block after `<!-- test-key -->`, decoded from hex.
    static func testKey(sourceLocation: SourceLocation = #_sourceLocation) throws -> [UInt8] {
        let hex = String(decoding: try block("test-key", sourceLocation: sourceLocation), as: UTF8.self)
        return try #require(
            hexBytes(hex.trimmingCharacters(in: .whitespacesAndNewlines)),
            "the test key is not hex",
            sourceLocation: sourceLocation
        )
    }

    private static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else {
                return nil
            }
            out.append(byte)
        }
        return out
    }
}
