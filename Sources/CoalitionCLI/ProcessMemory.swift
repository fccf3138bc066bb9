#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's resident memory, for the benchmark: its peak, and on Linux a way to start
/// the peak afresh so that one stage's peak is measured alone.
enum ProcessMemory {
    /// The peak resident memory since the process started or the last `resetPeak()`, in
    /// bytes: `VmHWM` of /proc/self/status on Linux, `getrusage` elsewhere.
    static var peakBytes: Int64 {
        if let kilobytes = statusField("VmHWM:") { return kilobytes * 1024 }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int64(usage.ru_maxrss) * 1024
    }

    /// The resident memory now, in bytes (0 where the system does not say).
    static var currentBytes: Int64 { (statusField("VmRSS:") ?? 0) * 1024 }

    /// Starts the peak afresh at the current resident size (Linux: `5` to
    /// /proc/self/clear_refs), after handing memory freed by earlier stages back to the
    /// system. Returns false where that cannot be done.
    @discardableResult
    static func resetPeak() -> Bool {
        trimHeap()
        guard let file = fopen("/proc/self/clear_refs", "w") else { return false }
        defer { fclose(file) }
        return fputs("5", file) >= 0
    }

    /// glibc's `malloc_trim(0)`, looked up at run time (its header does not import): freed
    /// heap goes back to the system, so the next stage's resident size is its own.
    static func trimHeap() {
        guard let symbol = dlsym(nil, "malloc_trim") else { return }
        typealias Trim = @convention(c) (Int) -> Int32
        _ = unsafeBitCast(symbol, to: Trim.self)(0)
    }

    /// A `kB` field of /proc/self/status.
    private static func statusField(_ name: String) -> Int64? {
        guard let file = fopen("/proc/self/status", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix(name) else { continue }
            return Int64(text.dropFirst(name.count).filter(\.isNumber))
        }
        return nil
    }
}
