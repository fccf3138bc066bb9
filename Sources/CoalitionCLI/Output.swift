import CoalitionKit
import Foundation

/// Where a command writes: standard output for results, standard error for trouble.
/// Control characters are escaped on the way out: messages quote bytes of files that no one
/// has authenticated yet, and an escape sequence in them must not reach a terminal.
enum Output {
    static func line(_ text: String = "") {
        FileHandle.standardOutput.write(Data((Untrusted.escaped(text) + "\n").utf8))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((Untrusted.escaped(text) + "\n").utf8))
    }

    /// Prints `object` as JSON with sorted keys, one object per command.
    static func json(_ object: Any) {
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}

/// A plain text table: a header, rows, columns aligned; numbers right-aligned.
struct TextTable {
    var headers: [String]
    var rows: [[String]] = []
    /// Columns to right-align (numbers).
    var numeric: Set<Int> = []

    init(_ headers: [String], numeric: Set<Int> = []) {
        self.headers = headers
        self.numeric = numeric
    }

    mutating func add(_ row: [String]) { rows.append(row) }

    func render(indent: String = "  ") -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func format(_ cells: [String]) -> String {
            var parts: [String] = []
            for (i, cell) in cells.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                parts.append(numeric.contains(i) ? pad + cell : cell + pad)
            }
            return indent
                + parts.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        var lines = [
            format(headers), indent + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "),
        ]
        lines += rows.map(format)
        return lines.joined(separator: "\n")
    }
}
