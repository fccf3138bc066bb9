import CoalitionKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file of the settlement family in large chunks, never whole: feeds the signed
/// region (every byte before the last line) to an HMAC in bulk, and hands each line to a
/// caller that wants them. Memory is one chunk plus two lines, whatever the file's size.
final class FileScanner {
    let path: String
    private let descriptor: Int32
    static let chunkSize = 1 << 20

    /// Opens `path` without blocking (a FIFO would block an open for reading) and takes it
    /// only if the opened descriptor is a regular file: a directory, FIFO, device or socket
    /// is `NOT_A_REGULAR_FILE`, a missing file `FILE_NOT_FOUND`.
    init(path: String) throws {
        descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            let failure = errno
            var error = CoalitionError.io("cannot open the file", call: "open", path: path, errno: failure)
            if failure == ENOENT { error.code = .fileNotFound }
            if failure == ELOOP { error.code = .notARegularFile }
            throw error
        }
        self.path = path
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw readError("fstat") }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw CoalitionError(
                .notARegularFile,
                "not a regular file (a directory, FIFO, device or socket): only files are read",
                at: Place(file: path)
            )
        }
    }

    deinit { close(descriptor) }

    /// Up to `count` bytes from the start of the file.
    func prefix(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let n = out.withUnsafeMutableBytes {
                pread(descriptor, $0.baseAddress! + filled, count - filled, off_t(filled))
            }
            if n < 0 { throw readError("pread") }
            if n == 0 { break }
            filled += n
        }
        return Array(out[0..<filled])
    }

    private func readError(_ call: String) -> CoalitionError {
        CoalitionError.io("cannot read the file", call: call, path: path)
    }

    struct Result {
        /// The last line, without its LF: the signature line of a well-formed file.
        var lastLine: [UInt8]
        var lineCount: Int
        var byteCount: Int64
    }

    /// Reads the whole file from its start. Every line but the last is fed to `mac`; each
    /// line (the last too) goes to `line` with its 1-based number. A line longer than the
    /// format allows is `LINE_TOO_LONG`; a file not ending in LF is `MISSING_SIGNATURE` (it
    /// was cut short).
    func scan(mac: HMACSHA256?, line: (UnsafeBufferPointer<UInt8>, Int) throws -> Void) throws -> Result {
        try scan(mac: mac, eachLine: true, line)
    }

    /// `scan(mac:line:)` without looking at the lines: only the last one is found.
    func scan(mac: HMACSHA256?) throws -> Result {
        try scan(mac: mac, eachLine: false) { _, _ in }
    }

    // `line` is not optional: an optional closure escapes, and every variable the caller's
    // closure captures would then be boxed and checked for exclusive access at each use.
    private func scan(
        mac: HMACSHA256?,
        eachLine: Bool,
        _ line: (UnsafeBufferPointer<UInt8>, Int) throws -> Void
    ) throws -> Result {
        let maximum = SettlementFormat.maximumLineLength
        let capacity = FileScanner.chunkSize + 2 * (maximum + 1)
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        let base = buffer.baseAddress!
        var carry = 0  // bytes kept at the buffer's start: the held last line and a partial one
        var partialStart = 0  // where, within the kept bytes, the unfinished line starts
        var heldStart: Int?  // the last complete line, not yet fed to the MAC
        var lineNumber = 0
        var offset: off_t = 0
        var byteCount: Int64 = 0
        while true {
            let n = pread(descriptor, base + carry, FileScanner.chunkSize, offset)
            if n < 0 { throw readError("pread") }
            if n == 0 { break }
            offset += off_t(n)
            byteCount += Int64(n)
            let total = carry + n
            var start = partialStart
            if eachLine {
                while start < total, let found = memchr(base + start, Int32(SettlementFormat.newline), total - start) {
                    let end = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                    lineNumber += 1
                    if end - start > maximum { throw tooLong(lineNumber) }
                    try line(UnsafeBufferPointer(start: base + start, count: end - start), lineNumber)
                    heldStart = start
                    start = end + 1
                }
            } else {
                // Only the last two line ends matter: find them from the back.
                if let lastEnd = Self.lastNewline(base, from: start, before: total) {
                    let previousEnd = Self.lastNewline(base, from: start, before: lastEnd)
                    let held = previousEnd.map { $0 + 1 } ?? start
                    // The held line stays in the buffer beside the next chunk: only a line the
                    // format allows fits there.
                    if lastEnd - held > maximum { throw tooLong(nil) }
                    heldStart = held
                    start = lastEnd + 1
                }
            }
            // Feed everything before the held line; keep the held line and the partial one.
            let keepFrom = heldStart ?? 0
            if keepFrom > 0 { mac?.update(UnsafeRawBufferPointer(start: base, count: keepFrom)) }
            let kept = total - keepFrom
            if total - start > maximum { throw tooLong(lineNumber + 1) }
            if keepFrom > 0 { (base).update(from: base + keepFrom, count: kept) }
            carry = kept
            partialStart = start - keepFrom
            heldStart = heldStart.map { $0 - keepFrom }
        }
        guard partialStart == carry else {
            throw CoalitionError(
                .missingSignature,
                "the file does not end with a newline: it was cut short, or its signature line is missing",
                at: Place(file: path, line: lineNumber + 1)
            )
        }
        guard let held = heldStart else {
            throw CoalitionError(.emptyFile, "the file is empty", at: Place(file: path))
        }
        let last = Array(UnsafeBufferPointer(start: base + held, count: max(0, carry - held - 1)))
        return Result(lastLine: last, lineCount: lineNumber, byteCount: byteCount)
    }

    /// The index of the last newline in `base[from..<end]`, if there is one.
    @inline(__always)
    private static func lastNewline(_ base: UnsafeMutablePointer<UInt8>, from start: Int, before end: Int) -> Int? {
        var index = end - 1
        while index >= start {
            if base[index] == SettlementFormat.newline { return index }
            index -= 1
        }
        return nil
    }

    private func tooLong(_ line: Int?) -> CoalitionError {
        CoalitionError(
            .lineTooLong,
            "a line is longer than \(SettlementFormat.maximumLineLength) bytes",
            at: Place(file: path, line: line)
        )
    }
}
