import CoalitionKit

/// A state machine that decodes a chunked body (RFC 9112 §7.1) as bytes arrive, strictly:
/// hexadecimal sizes of at most 16 digits, extensions checked against their grammar and
/// ignored, CRLF after every chunk's data, trailer fields checked like header fields, bounded
/// like them, and discarded.
package struct HTTPChunkedDecoder: Sendable {
    enum State: Sendable {
        case sizeLine
        case data(remaining: Int64)
        case dataCR
        case dataLF
        case trailers
        case done
    }

    /// A chunk-size line's bytes: size and extensions.
    static let maximumSizeLine = 4096

    private var state = State.sizeLine
    private var line: [UInt8] = []
    private var sawCR = false
    private let limits: HTTPHeadLimits
    private var trailerBytes = 0
    private var trailerFields = 0

    package init(limits: HTTPHeadLimits = HTTPHeadLimits()) {
        self.limits = limits
    }

    /// Whether the last chunk and the trailer section have been read.
    package var isComplete: Bool {
        if case .done = state { return true }
        return false
    }

    /// Decodes from `input`, handing each run of body bytes to `body`; returns how many
    /// bytes of `input` were taken (all of them unless the body ended inside it).
    package mutating func decode(
        _ input: ArraySlice<UInt8>,
        body: (ArraySlice<UInt8>) throws -> Void
    ) throws -> Int {
        var index = input.startIndex
        while index < input.endIndex {
            switch state {
            case .done:
                return index - input.startIndex
            case .data(let remaining):
                let end = input.index(index, offsetBy: Int(min(remaining, Int64(input.endIndex - index))))
                try body(input[index..<end])
                let left = remaining - Int64(end - index)
                state = left == 0 ? .dataCR : .data(remaining: left)
                index = end
            case .dataCR:
                guard input[index] == 0x0D else { throw Self.fault("a chunk's data is not followed by CRLF") }
                state = .dataLF
                index += 1
            case .dataLF:
                guard input[index] == 0x0A else { throw Self.fault("a chunk's data is not followed by CRLF") }
                state = .sizeLine
                index += 1
            case .sizeLine, .trailers:
                try take(input[index])
                index += 1
            }
        }
        return index - input.startIndex
    }

    /// One byte of a size line or a trailer line.
    private mutating func take(_ byte: UInt8) throws(CoalitionError) {
        if sawCR {
            guard byte == 0x0A else { throw CoalitionError(.bareCR, "a CR not followed by LF in a chunked body") }
            sawCR = false
            try endLine()
            line.removeAll(keepingCapacity: true)
            return
        }
        switch byte {
        case 0x0D: sawCR = true
        case 0x0A: throw CoalitionError(.bareLF, "a line of a chunked body ends with LF alone")
        default:
            line.append(byte)
            if case .sizeLine = state, line.count > Self.maximumSizeLine {
                throw Self.fault("a chunk-size line is over \(Self.maximumSizeLine) bytes")
            }
            if case .trailers = state, trailerBytes + line.count > limits.headerBytes {
                throw CoalitionError(.headersTooLarge, "the trailer section is over \(limits.headerBytes) bytes")
            }
        }
    }

    private mutating func endLine() throws(CoalitionError) {
        if case .sizeLine = state {
            let size = try Self.parseSizeLine(line)
            state = size == 0 ? .trailers : .data(remaining: size)
            return
        }
        trailerBytes += line.count + 2
        guard trailerBytes <= limits.headerBytes else {
            throw CoalitionError(.headersTooLarge, "the trailer section is over \(limits.headerBytes) bytes")
        }
        if line.isEmpty {
            state = .done
            return
        }
        trailerFields += 1
        guard trailerFields <= limits.headerFields else {
            throw CoalitionError(.tooManyHeaders, "more than \(limits.headerFields) trailer fields")
        }
        _ = try HTTPSyntax.parseFieldLine(line)
    }

    /// `1*16HEXDIG *( BWS ";" BWS ext-name [ BWS "=" BWS ext-value ] )`.
    static func parseSizeLine(_ line: [UInt8]) throws(CoalitionError) -> Int64 {
        var size: Int64 = 0
        var index = 0
        while index < line.count, let digit = hexValue(line[index]) {
            guard index < 16 else { throw fault("a chunk size has more than 16 hexadecimal digits") }
            size = size << 4 | Int64(digit)
            index += 1
        }
        guard index > 0 else { throw fault("a chunk does not start with its size in hexadecimal") }
        guard size >= 0 else { throw fault("a chunk size is too large") }
        try checkExtensions(line[index...])
        return size
    }

    static func checkExtensions(_ text: ArraySlice<UInt8>) throws(CoalitionError) {
        var rest = text
        while !rest.isEmpty {
            rest = rest.drop(while: HTTPSyntax.isWhitespace)
            guard rest.first == UInt8(ascii: ";") else { throw fault("a chunk extension does not start with ;") }
            rest = rest.dropFirst().drop(while: HTTPSyntax.isWhitespace)
            let name = rest.prefix(while: HTTPSyntax.isTokenByte)
            guard !name.isEmpty else { throw fault("a chunk extension has no name") }
            rest = rest.dropFirst(name.count).drop(while: HTTPSyntax.isWhitespace)
            guard rest.first == UInt8(ascii: "=") else { continue }
            rest = rest.dropFirst().drop(while: HTTPSyntax.isWhitespace)
            if rest.first == UInt8(ascii: "\"") {
                rest = try afterQuotedString(rest)
            } else {
                let value = rest.prefix(while: HTTPSyntax.isTokenByte)
                guard !value.isEmpty else { throw fault("a chunk extension's value is empty") }
                rest = rest.dropFirst(value.count)
            }
        }
    }

    /// What follows the quoted string at the start of `text`.
    static func afterQuotedString(_ text: ArraySlice<UInt8>) throws(CoalitionError) -> ArraySlice<UInt8> {
        var index = text.startIndex + 1
        while index < text.endIndex {
            let byte = text[index]
            if byte == UInt8(ascii: "\"") { return text[(index + 1)...] }
            if byte == UInt8(ascii: "\\") {
                index += 1
                guard index < text.endIndex, HTTPSyntax.isValueByte(text[index]) else { break }
            } else if !HTTPSyntax.isValueByte(byte) {
                break
            }
            index += 1
        }
        throw fault("a chunk extension's quoted value is not closed or has a control byte")
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    static func fault(_ message: String) -> CoalitionError { CoalitionError(.badChunk, message) }
}
