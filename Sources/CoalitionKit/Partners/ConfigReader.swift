import Foundation

/// Reads one JSON configuration object and names the file and field of every fault, so an
/// operator fixing `partners/harbor.json` is told `earnRates[1].pointsPerUnit`, not "bad data".
struct ConfigReader {
    let file: String
    let path: String
    let object: [String: Any]

    init(file: String, data: Data) throws {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw CoalitionError(.badConfig, "not valid JSON", at: Place(file: file))
        }
        guard let object = parsed as? [String: Any] else {
            throw CoalitionError(.badConfig, "expected a JSON object at the top", at: Place(file: file))
        }
        self.init(file: file, path: "", object: object)
    }

    private init(file: String, path: String, object: [String: Any]) {
        self.file = file
        self.path = path
        self.object = object
    }

    func place(_ key: String) -> Place { Place(file: file, field: path.isEmpty ? key : "\(path).\(key)") }

    func fail(_ key: String, _ message: String, code: ReasonCode = .badConfig) -> CoalitionError {
        CoalitionError(code, message, at: place(key))
    }

    func has(_ key: String) -> Bool { object[key] != nil && !(object[key] is NSNull) }

    func string(_ key: String) throws -> String {
        guard let value = object[key] else { throw fail(key, "missing") }
        guard let text = value as? String else { throw fail(key, "expected a string") }
        return text
    }

    func optionalString(_ key: String) throws -> String? { has(key) ? try string(key) : nil }

    func integer(_ key: String, in range: ClosedRange<Int64> = 0...Int64.max) throws -> Int64 {
        guard let value = object[key] else { throw fail(key, "missing") }
        guard let number = value as? NSNumber, !ConfigReader.isBoolean(number), let integer = value as? Int64 else {
            throw fail(key, "expected a whole number")
        }
        guard range.contains(integer) else {
            throw fail(key, "\(integer) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return integer
    }

    func optionalInteger(_ key: String, in range: ClosedRange<Int64> = 0...Int64.max) throws -> Int64? {
        has(key) ? try integer(key, in: range) : nil
    }

    func bool(_ key: String, default defaultValue: Bool) throws -> Bool {
        guard has(key) else { return defaultValue }
        guard let number = object[key] as? NSNumber, ConfigReader.isBoolean(number) else {
            throw fail(key, "expected true or false")
        }
        return number.boolValue
    }

    private static func isBoolean(_ number: NSNumber) -> Bool { String(cString: number.objCType) == "c" }

    func rate(_ key: String) throws -> Rate {
        let text = try string(key)
        do { return try Rate(parsing: text) } catch let error as CoalitionError {
            throw CoalitionError(error.code, error.message, at: place(key))
        }
    }

    func time(_ key: String) throws -> Timestamp {
        let text = try string(key)
        do { return try Timestamp(parsing: text, allowingDate: true) } catch let error as CoalitionError {
            throw CoalitionError(error.code, error.message, at: place(key))
        }
    }

    func object(_ key: String) throws -> ConfigReader {
        guard let value = object[key] else { throw fail(key, "missing") }
        guard let nested = value as? [String: Any] else { throw fail(key, "expected an object") }
        return ConfigReader(file: file, path: place(key).field!, object: nested)
    }

    func objects(_ key: String, allowEmpty: Bool = false) throws -> [ConfigReader] {
        guard let value = object[key] else { throw fail(key, "missing") }
        guard let array = value as? [Any] else { throw fail(key, "expected a list") }
        if array.isEmpty && !allowEmpty { throw fail(key, "must not be empty") }
        return try array.enumerated().map { index, element in
            let elementPath = "\(place(key).field!)[\(index)]"
            guard let nested = element as? [String: Any] else {
                throw CoalitionError(.badConfig, "expected an object", at: Place(file: file, field: elementPath))
            }
            return ConfigReader(file: file, path: elementPath, object: nested)
        }
    }

    /// Refuses keys this reader does not know, so a misspelt setting is not silently ignored.
    func allowOnly(_ keys: Set<String>) throws {
        for key in object.keys.sorted() where !keys.contains(key) {
            throw fail(key, "unknown field (expected one of: \(keys.sorted().joined(separator: ", ")))")
        }
    }
}
