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

    /// How a JSON answer writes `/` in its strings.
    enum Slashes {
        case plain
        /// As `\/`: what the answers first printed through `JSONSerialization` (cycles,
        /// members, statements, files ingested, …) always wrote, kept so their bytes stay.
        case escaped
    }

    /// Prints `value` as JSON, pretty-printed with sorted keys, one object per command.
    static func json<Value: Encodable>(_ value: Value, slashes: Slashes = .plain) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        if slashes == .plain { encoder.outputFormatting.insert(.withoutEscapingSlashes) }
        // Our answers are strings, integers, Booleans and arrays and maps of them: they encode.
        let data = try! encoder.encode(value)
        FileHandle.standardOutput.write(data)
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}

/// An error as `--json` prints it on standard output: the reason code, the message and the
/// place, beside the exit code.
struct ErrorOutput: Encodable {
    struct Where: Encodable {
        let file: String?
        let line: Int?
        let field: String?
        let recordID: String?
    }

    let ok: Bool
    let command: String?
    let code: String
    let message: String
    let place: Where
    let exitCode: Int32

    init(_ error: CoalitionError, command: String?, exitCode: ExitCode) {
        ok = false
        self.command = command
        code = error.code.rawValue
        message = error.message
        place = Where(
            file: error.place.file,
            line: error.place.line,
            field: error.place.field,
            recordID: error.place.recordID
        )
        self.exitCode = exitCode.rawValue
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

    /// The table as text. With `width`, the last column's cells are wrapped at spaces onto
    /// lines of their own so no line is longer than `width` (unless a single word is).
    func render(indent: String = "  ", width: Int? = nil) -> String {
        var rows = rows
        if let width, let last = headers.indices.last {
            var leading = headers.map(\.count)
            for row in rows {
                for (i, cell) in row.enumerated() where i < last { leading[i] = max(leading[i], cell.count) }
            }
            let room = max(20, width - indent.count - leading.dropLast().reduce(0) { $0 + $1 + 2 })
            rows = rows.flatMap { row -> [[String]] in
                guard row.count == headers.count, row[last].count > room else { return [row] }
                return TextTable.wrap(row[last], to: room).enumerated().map { index, part in
                    index == 0 ? Array(row.dropLast()) + [part] : Array(repeating: "", count: last) + [part]
                }
            }
        }
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

    /// `text` in lines of at most `width` characters, broken at spaces.
    static func wrap(_ text: String, to width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty && line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        if !line.isEmpty || lines.isEmpty { lines.append(line) }
        return lines
    }
}
