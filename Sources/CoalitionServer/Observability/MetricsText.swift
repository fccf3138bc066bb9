import Foundation

/// Writes the Prometheus text exposition format, version 0.0.4: for each metric family a
/// `# HELP` and a `# TYPE` line, then its samples, one a line, each `name{labels} value`.
///
/// Label values are escaped as the format asks (`\\`, `\"`, `\n`); help text escapes `\\`
/// and `\n`. Names are the caller's constants, checked against the format's grammar.
struct MetricsText {
    /// What `GET /metrics` answers with.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private(set) var text = ""

    /// Starts the family `name` of `type` (`counter`, `gauge`, `histogram`).
    mutating func family(_ name: String, type: String, help: String) {
        precondition(Self.isValidName(name), "not a metric name: \(name)")
        let escapedHelp = help.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\n", with: "\\n")
        text += "# HELP \(name) \(escapedHelp)\n# TYPE \(name) \(type)\n"
    }

    /// One sample without labels, with an integer value.
    mutating func sample(_ name: String, _ value: Int64) { sample(name, [], value) }

    /// One sample with an integer value.
    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Int64) {
        text += "\(name)\(Self.labelSet(labels)) \(value)\n"
    }

    /// One sample with a value in seconds (a histogram's sum of latencies), written from
    /// nanoseconds without passing through floating point.
    mutating func sample(_ name: String, _ labels: [(String, String)], nanoseconds: Int64) {
        text += "\(name)\(Self.labelSet(labels)) \(Self.seconds(nanoseconds))\n"
    }

    /// `{a="x",b="y"}`, or nothing for no labels.
    static func labelSet(_ labels: [(String, String)]) -> String {
        guard !labels.isEmpty else { return "" }
        let pairs = labels.map { name, value in
            precondition(isValidName(name) && !name.contains(":"), "not a label name: \(name)")
            return "\(name)=\"\(escapedLabelValue(value))\""
        }
        return "{" + pairs.joined(separator: ",") + "}"
    }

    static func escapedLabelValue(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    /// `[a-zA-Z_:][a-zA-Z0-9_:]*`
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, !(48...57).contains(first) else { return false }
        return name.utf8.allSatisfy { byte in
            (65...90).contains(byte) || (97...122).contains(byte) || (48...57).contains(byte) || byte == 95
                || byte == 58
        }
    }

    /// Nanoseconds as decimal seconds: `1500000` is `0.0015`, `2000000000` is `2`.
    static func seconds(_ nanoseconds: Int64) -> String {
        let whole = nanoseconds / 1_000_000_000
        var fraction = String(nanoseconds % 1_000_000_000)
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return fraction.isEmpty ? "\(whole)" : "\(whole).\(fraction)"
    }
}
