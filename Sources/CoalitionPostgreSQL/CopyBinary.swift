/// Rows in COPY's binary format (`COPY … FROM STDIN WITH (FORMAT binary)`): the server
/// takes each value as it is stored, with no text to parse: a `bigint` as 8 bytes in network
/// order, a `text` as its UTF-8 bytes, a `bytea` as its bytes (no hexadecimal).
///
/// The layout (PostgreSQL's documentation, "COPY", binary format): the signature
/// `PGCOPY\n\377\r\n\0`, a 32-bit flags field and a 32-bit header-extension length (both
/// 0); then each row as a 16-bit field count and each field as a 32-bit length (-1 for
/// NULL) and its bytes; then a 16-bit -1. Every integer is big-endian. Every column written
/// through it must be `bigint`, `text` or `bytea`.
struct CopyBinary {
    private(set) var bytes: [UInt8] = [
        0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00,  // PGCOPY\n\377\r\n\0
        0, 0, 0, 0,  // flags
        0, 0, 0, 0,  // header extension length
    ]
    /// Where the field count of the row being written sits, and how many fields it has.
    private var rowStart: Int?
    private var fields: Int16 = 0
    /// Whether any row was written (an empty COPY is not sent at all).
    private(set) var isEmpty = true

    /// The `WITH` clause a COPY of these rows takes.
    static let format = "WITH (FORMAT binary)"

    mutating func reserve(_ count: Int) { bytes.reserveCapacity(count) }

    private mutating func append32(_ value: Int32) {
        let v = UInt32(bitPattern: value)
        bytes.append(UInt8(truncatingIfNeeded: v >> 24))
        bytes.append(UInt8(truncatingIfNeeded: v >> 16))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    private mutating func field() {
        if rowStart == nil {
            rowStart = bytes.count
            bytes.append(0)
            bytes.append(0)
            fields = 0
            isEmpty = false
        }
        fields += 1
    }

    mutating func add(_ value: Int64) {
        field()
        append32(8)
        let v = UInt64(bitPattern: value)
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(shift)))
        }
    }

    mutating func add(_ value: Int64?) {
        if let value { add(value) } else { addNull() }
    }

    mutating func addNull() {
        field()
        append32(-1)
    }

    mutating func add(_ text: String?) {
        guard var text else { return addNull() }
        text.withUTF8 { add(text: UnsafeRawBufferPointer($0)) }
    }

    /// A `text` value's UTF-8 bytes, as they are.
    mutating func add(text: UnsafeRawBufferPointer) {
        field()
        append32(Int32(text.count))
        bytes.append(contentsOf: text)
    }

    /// A `bytea` value's bytes, as they are.
    mutating func add(bytea: UnsafeRawBufferPointer) {
        add(text: bytea)
    }

    mutating func endRow() {
        guard let start = rowStart else { return }
        bytes[start] = UInt8(truncatingIfNeeded: UInt16(bitPattern: fields) >> 8)
        bytes[start + 1] = UInt8(truncatingIfNeeded: UInt16(bitPattern: fields))
        rowStart = nil
    }

    /// Ends the stream with its trailer and returns it whole: what `Connection.copy` sends.
    /// Nothing is added after it.
    mutating func finish() -> [UInt8] {
        bytes.append(0xFF)
        bytes.append(0xFF)
        return bytes
    }
}
