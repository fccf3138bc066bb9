import Dispatch

/// Elapsed time for the benchmark and progress: nanoseconds from a monotonic clock. Never
/// used for an amount.
public enum MonotonicClock {
    public static var now: UInt64 { DispatchTime.now().uptimeNanoseconds }

    public static func seconds(since start: UInt64) -> Double { Double(now - start) / 1e9 }
}
