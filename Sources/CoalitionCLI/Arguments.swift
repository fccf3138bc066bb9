import CoalitionKit

/// An option a command accepts: `--name VALUE` or a `--name` flag.
struct OptionSpec {
    let name: String
    let value: String?
    let help: String

    static func flag(_ name: String, _ help: String) -> OptionSpec { OptionSpec(name: name, value: nil, help: help) }
    static func value(_ name: String, _ value: String, _ help: String) -> OptionSpec {
        OptionSpec(name: name, value: value, help: help)
    }
}

/// The options every command takes.
let globalOptions: [OptionSpec] = [
    .value("data", "DIR", "the data directory (default ./coalition-data)"),
    .flag("json", "print one JSON object instead of text"),
    .flag("help", "show this help"),
]

/// A command line split into positional arguments and options, checked against what the
/// command accepts. Hand-written: the project takes no packages.
struct Arguments {
    var positional: [String] = []
    var values: [String: [String]] = [:]
    var flags: Set<String> = []

    /// Parses `words` for a command accepting `options` (plus the global ones). `-h` is
    /// `--help`, wherever it stands before `--`.
    init(_ words: [String], options: [OptionSpec], usage: String) throws {
        let all = options + globalOptions
        var index = 0
        var onlyPositional = false
        while index < words.count {
            let word = words[index]
            index += 1
            if !onlyPositional && word == "-h" {
                flags.insert("help")
                continue
            }
            if onlyPositional || !word.hasPrefix("--") || word == "-" {
                positional.append(word)
                continue
            }
            if word == "--" {
                onlyPositional = true
                continue
            }
            var name = String(word.dropFirst(2))
            var inline: String?
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard let spec = all.first(where: { $0.name == name }) else {
                let hint = Suggestion.phrase(for: name, among: all.map(\.name), prefix: "--")
                throw CoalitionError(.usage, "unknown option --\(name).\(hint)\nusage: \(usage)")
            }
            if spec.value == nil {
                guard inline == nil else { throw CoalitionError(.usage, "--\(name) takes no value\nusage: \(usage)") }
                flags.insert(name)
            } else if let inline {
                values[name, default: []].append(inline)
            } else {
                guard index < words.count else {
                    throw CoalitionError(.usage, "--\(name) needs a value (\(spec.value!))\nusage: \(usage)")
                }
                values[name, default: []].append(words[index])
                index += 1
            }
        }
    }

    /// Whether `words` ask for help (`-h` or `--help` before any `--`), whatever else they hold.
    static func asksForHelp(_ words: [String]) -> Bool {
        words.prefix { $0 != "--" }.contains { $0 == "-h" || $0 == "--help" }
    }

    /// Whether `words` ask for JSON (`--json` before any `--`).
    static func asksForJSON(_ words: [String]) -> Bool {
        words.prefix { $0 != "--" }.contains("--json")
    }

    func has(_ flag: String) -> Bool { flags.contains(flag) }
    func value(_ name: String) -> String? { values[name]?.last }

    func integer(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let text = value(name) else { return fallback }
        guard let number = Int(text), range.contains(number) else {
            throw CoalitionError(
                .usage,
                "--\(name) takes a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'"
            )
        }
        return number
    }

    func time(_ name: String) throws -> Timestamp? {
        guard let text = value(name) else { return nil }
        do { return try Timestamp(parsing: text, allowingDate: true) } catch {
            throw CoalitionError(.usage, "--\(name) takes a date (YYYY-MM-DD) or a UTC time (YYYY-MM-DDTHH:MM:SSZ)")
        }
    }
}
