import Glibc
import Synchronization

/// What the server counts of the requests it answers: how many by route, method and status,
/// and how long the responder took, as a histogram per route. Shared by every I/O thread:
/// plain dictionaries in locked stripes, each lock held for a few additions per request.
///
/// Routes are the route table's templates (`/v1/acknowledgements/{sequence}`), never the
/// path as sent, so the label set stays bounded and no number from a path is exposed.
public final class RequestMetrics: Sendable {
    /// The upper bounds of the latency buckets, in nanoseconds (5 ms to 10 s).
    public static let latencyBuckets: [Int64] = [
        5_000_000, 10_000_000, 25_000_000, 50_000_000, 100_000_000, 250_000_000,
        500_000_000, 1_000_000_000, 2_500_000_000, 5_000_000_000, 10_000_000_000,
    ]

    struct RequestKey: Hashable, Comparable {
        let route: String
        let method: String
        let status: Int

        static func < (lhs: RequestKey, rhs: RequestKey) -> Bool {
            (lhs.route, lhs.method, lhs.status) < (rhs.route, rhs.method, rhs.status)
        }
    }

    /// One route's latencies: a count per bucket (not cumulative), the count and the sum.
    struct Latency {
        var buckets = [Int64](repeating: 0, count: RequestMetrics.latencyBuckets.count)
        var count: Int64 = 0
        var sumNanoseconds: Int64 = 0

        mutating func record(bucket: Int?, nanoseconds: Int64) {
            if let bucket { buckets[bucket] += 1 }
            count += 1
            sumNanoseconds += max(0, nanoseconds)
        }

        mutating func add(_ other: Latency) {
            for index in buckets.indices { buckets[index] += other.buckets[index] }
            count += other.count
            sumNanoseconds += other.sumNanoseconds
        }
    }

    struct Counts {
        var requests: [RequestKey: Int64] = [:]
        var latencies: [String: Latency] = [:]

        mutating func add(_ other: Counts) {
            for (key, count) in other.requests { requests[key, default: 0] += count }
            for (route, latency) in other.latencies {
                latencies[route, default: Latency()].add(latency)
            }
        }
    }

    /// The counts in stripes, each behind its own lock, a thread always counting in the
    /// same one: 64 connection threads counting at once wait on each other rarely, where
    /// one lock had them spinning on it. Read by adding the stripes up.
    final class Stripe: Sendable {
        let counts = Mutex(Counts())
    }

    private let stripes: [Stripe] = (0..<16).map { _ in Stripe() }

    public init() {}

    /// Counts one answered request of `route` that took `nanoseconds` to answer.
    public func record(route: String, method: String, status: Int, nanoseconds: Int64) {
        let key = RequestKey(route: route, method: method, status: status)
        let bucket = Self.latencyBuckets.firstIndex { nanoseconds <= $0 }
        // The thread's id, spread by a multiplicative hash, picks one of the 16 stripes.
        let stripe = stripes[Int((UInt(pthread_self()) &* 0x9E37_79B9_7F4A_7C15) >> 60)]
        stripe.counts.withLock { counts in
            counts.requests[key, default: 0] += 1
            // Mutated in place: no copy of the buckets while the lock is held.
            counts.latencies[route, default: Latency()].record(bucket: bucket, nanoseconds: nanoseconds)
        }
    }

    /// Every stripe's counts added up.
    var total: Counts {
        var total = Counts()
        for stripe in stripes { total.add(stripe.counts.withLock { $0 }) }
        return total
    }

    /// The request families, appended to `text`.
    func write(into text: inout MetricsText) {
        let snapshot = total
        text.family(
            "coalition_http_requests_total",
            type: "counter",
            help: "HTTP requests answered, by route, method and status."
        )
        for key in snapshot.requests.keys.sorted() {
            let labels = [("route", key.route), ("method", key.method), ("status", String(key.status))]
            text.sample("coalition_http_requests_total", labels, snapshot.requests[key]!)
        }
        let name = "coalition_http_request_duration_seconds"
        text.family(name, type: "histogram", help: "Time the server took to answer a request, by route.")
        for route in snapshot.latencies.keys.sorted() {
            let latency = snapshot.latencies[route]!
            var cumulative: Int64 = 0
            for (index, bound) in Self.latencyBuckets.enumerated() {
                cumulative += latency.buckets[index]
                text.sample(name + "_bucket", [("route", route), ("le", MetricsText.seconds(bound))], cumulative)
            }
            text.sample(name + "_bucket", [("route", route), ("le", "+Inf")], latency.count)
            text.sample(name + "_sum", [("route", route)], nanoseconds: latency.sumNanoseconds)
            text.sample(name + "_count", [("route", route)], latency.count)
        }
    }
}
