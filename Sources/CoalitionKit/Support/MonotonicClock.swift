import Dispatch

/// Elapsed time for the benchmark and progress: nanoseconds from a monotonic clock. Never
/// used for an amount.
package enum MonotonicClock {
    package static var now: UInt64 { DispatchTime.now().uptimeNanoseconds }

    package static func seconds(since start: UInt64) -> Double { Double(now - start) / 1e9 }
}
