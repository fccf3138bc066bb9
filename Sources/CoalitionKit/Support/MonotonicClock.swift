#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Elapsed time for the benchmark and progress: nanoseconds from a monotonic clock. Never
/// used for an amount.
public enum MonotonicClock {
    public static var now: UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    public static func seconds(since start: UInt64) -> Double { Double(now - start) / 1e9 }
}
