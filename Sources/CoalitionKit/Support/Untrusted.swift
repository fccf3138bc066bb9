/// Text that came from outside (a partner's file, a file name in the inbox) made safe to
/// show on a terminal or write into a text file: control characters are written as escapes.
package enum Untrusted {
    /// `text` with every C0 control character but LF and TAB, DEL and every C1 control
    /// character written as `\xHH` (`\u{HHHH}` above FF): an escape sequence in a partner's
    /// header can then neither move a cursor nor hide a line.
    package static func escaped(_ text: String, keepingNewlines: Bool = true) -> String {
        guard text.unicodeScalars.contains(where: { isControl($0, keepingNewlines: keepingNewlines) }) else {
            return text
        }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            if isControl(scalar, keepingNewlines: keepingNewlines) {
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out +=
                    scalar.value <= 0xFF
                    ? "\\x" + (hex.count < 2 ? "0" : "") + hex
                    : "\\u{" + hex + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func isControl(_ scalar: Unicode.Scalar, keepingNewlines: Bool) -> Bool {
        switch scalar.value {
        case 0x0A, 0x09: !keepingNewlines
        case 0x00...0x1F, 0x7F...0x9F: true
        // Bidirectional overrides and isolates reorder what a terminal shows.
        case 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }
}
