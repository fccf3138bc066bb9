/// A strict parser of the Prometheus text exposition format 0.0.4, written for the tests so
/// that `/metrics` is checked against the format, not against its own writer.
///
/// Refuses: a sample before its family's `# TYPE`, a family described twice, a sample whose
/// name is not its family's (or `_bucket`, `_sum`, `_count` of a histogram), a bad name,
/// label or escape, a duplicate series, a value that is not a number, a histogram whose
/// buckets decrease or whose `+Inf` bucket differs from its count, text not ending in a
/// newline.
struct Exposition {
    struct ParseError: Error, CustomStringConvertible {
        let line: Int
        let reason: String
        var description: String { "line \(line): \(reason)" }
    }

    struct Sample: Hashable {
        let name: String
        let labels: [String: String]
    }

    /// Family name to type.
    private(set) var types: [String: String] = [:]
    private(set) var values: [Sample: Double] = [:]

    /// The value of the series `name` with exactly `labels`.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        values[Sample(name: name, labels: labels)]
    }

    /// Every series of `name`, whatever its labels.
    func series(_ name: String) -> [[String: String]: Double] {
        var out: [[String: String]: Double] = [:]
        for (sample, value) in values where sample.name == name { out[sample.labels] = value }
        return out
    }

    init(parsing text: String) throws {
        guard text.hasSuffix("\n") else { throw ParseError(line: 0, reason: "does not end in a newline") }
        var family: String?
        var helped: Set<String> = []
        for (index, line) in text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            func fail(_ reason: String) -> ParseError { ParseError(line: number, reason: reason) }
            if line.hasPrefix("# HELP ") {
                let parts = line.dropFirst(7).split(separator: " ", maxSplits: 1)
                guard let name = parts.first.map(String.init), Self.isName(name), !helped.contains(name) else {
                    throw fail("bad or repeated HELP")
                }
                helped.insert(name)
            } else if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ").map(String.init)
                guard parts.count == 2, Self.isName(parts[0]), types[parts[0]] == nil,
                    ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[1])
                else { throw fail("bad or repeated TYPE") }
                types[parts[0]] = parts[1]
                family = parts[0]
            } else if line.hasPrefix("#") || line.isEmpty {
                throw fail("unexpected comment or blank line")
            } else {
                let (sample, value) = try Self.sample(String(line), fail: fail)
                guard let family, Self.belongs(sample.name, to: family, type: types[family]!) else {
                    throw fail("sample \(sample.name) outside its family")
                }
                guard values[sample] == nil else { throw fail("duplicate series") }
                values[sample] = value
            }
        }
        try checkHistograms()
    }

    static func belongs(_ name: String, to family: String, type: String) -> Bool {
        if type == "histogram" { return ["_bucket", "_sum", "_count"].contains { name == family + $0 } }
        return name == family
    }

    static func isName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == ":"
        }
    }

    /// `name{a="x",b="y"} value`
    static func sample(_ line: String, fail: (String) -> ParseError) throws -> (Sample, Double) {
        var characters = Substring(line)
        let name = String(characters.prefix { $0 != "{" && $0 != " " })
        guard isName(name) else { throw fail("bad name \(name)") }
        characters = characters.dropFirst(name.count)
        var labels: [String: String] = [:]
        if characters.first == "{" {
            characters = characters.dropFirst()
            while characters.first != "}" {
                let label = String(characters.prefix { $0 != "=" })
                guard isName(label), !label.contains(":"), labels[label] == nil else { throw fail("bad label") }
                characters = characters.dropFirst(label.count)
                guard characters.hasPrefix("=\"") else { throw fail("label without a quoted value") }
                characters = characters.dropFirst(2)
                var value = ""
                while true {
                    guard let character = characters.popFirst() else { throw fail("unterminated label value") }
                    if character == "\"" { break }
                    if character == "\\" {
                        switch characters.popFirst() {
                        case "\\": value.append("\\")
                        case "\"": value.append("\"")
                        case "n": value.append("\n")
                        default: throw fail("bad escape")
                        }
                    } else {
                        value.append(character)
                    }
                }
                labels[label] = value
                if characters.first == "," {
                    characters = characters.dropFirst()
                } else if characters.first != "}" {
                    throw fail("bad label separator")
                }
            }
            characters = characters.dropFirst()
        }
        guard characters.first == " " else { throw fail("no space before the value") }
        let text = String(characters.dropFirst())
        guard !text.contains(" "), let value = Double(text) ?? (text == "+Inf" ? .infinity : nil) else {
            throw fail("bad value \(text)")
        }
        return (Sample(name: name, labels: labels), value)
    }

    /// Buckets cumulative, `+Inf` present and equal to `_count`, `_sum` present.
    func checkHistograms() throws {
        for (family, type) in types where type == "histogram" {
            var groups: [[String: String]: [(Double, Double)]] = [:]
            for (sample, value) in values where sample.name == family + "_bucket" {
                guard let le = sample.labels["le"], let bound = Double(le) ?? (le == "+Inf" ? .infinity : nil) else {
                    throw ParseError(line: 0, reason: "\(family) bucket without le")
                }
                groups[sample.labels.filter { $0.key != "le" }, default: []].append((bound, value))
            }
            for (labels, buckets) in groups {
                let sorted = buckets.sorted { $0.0 < $1.0 }
                guard sorted.last?.0 == .infinity, zip(sorted, sorted.dropFirst()).allSatisfy({ $0.1 <= $1.1 }),
                    value(family + "_count", labels) == sorted.last?.1, value(family + "_sum", labels) != nil
                else { throw ParseError(line: 0, reason: "\(family) \(labels) is not a histogram") }
            }
        }
    }
}
