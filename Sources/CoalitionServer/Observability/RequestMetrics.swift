import Glibc
import Synchronization

/// What the server counts of the requests it answers: how many by route, method and status,
/// and how long the responder took, as a histogram per route. Shared by every I/O thread:
/// plain dictionaries in locked stripes, each lock held for a few additions per request.
///
/// Routes are the route table's templates (`/v1/acknowledgements/{sequence}`), never the
/// path as sent, so the label set stays bounded and no number from a path is exposed.
package final class RequestMetrics: Sendable {
    /// The upper bounds of the latency buckets, in nanoseconds (5 ms to 10 s).
    package static let latencyBuckets: [Int64] = [
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

    /// The upper bounds of the records-per-batch buckets of files taken in.
    package static let batchBuckets: [Int64] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000]

    struct Counts {
        var requests: [RequestKey: Int64] = [:]
        var latencies: [String: Latency] = [:]
        /// Records applied and rejected, by source (`file`, `api`) and outcome.
        var records: [String: Int64] = [:]
        var batchSizes = [Int64](repeating: 0, count: RequestMetrics.batchBuckets.count)
        var batches: Int64 = 0
        var batchRecords: Int64 = 0

        mutating func add(_ other: Counts) {
            for (key, count) in other.requests { requests[key, default: 0] += count }
            for (route, latency) in other.latencies {
                latencies[route, default: Latency()].add(latency)
            }
            for (key, count) in other.records { records[key, default: 0] += count }
            for index in batchSizes.indices { batchSizes[index] += other.batchSizes[index] }
            batches += other.batches
            batchRecords += other.batchRecords
        }
    }

    /// The counts in stripes, each behind its own lock, a thread always counting in the
    /// same one: 64 connection threads counting at once wait on each other rarely, where
    /// one lock had them spinning on it. Read by adding the stripes up.
    final class Stripe: Sendable {
        let counts = Mutex(Counts())
    }

    private let stripes: [Stripe] = (0..<16).map { _ in Stripe() }

    package init() {}

    /// Counts one answered request of `route` that took `nanoseconds` to answer.
    package func record(route: String, method: String, status: Int, nanoseconds: Int64) {
        let key = RequestKey(route: route, method: method, status: status)
        let bucket = Self.latencyBuckets.firstIndex { nanoseconds <= $0 }
        let stripe = stripes[Self.stripeIndex]
        stripe.counts.withLock { counts in
            counts.requests[key, default: 0] += 1
            // Mutated in place: no copy of the buckets while the lock is held.
            counts.latencies[route, default: Latency()].record(bucket: bucket, nanoseconds: nanoseconds)
        }
    }

    /// This thread's stripe: its id, spread by a multiplicative hash, picks one of the 16.
    static var stripeIndex: Int { Int((UInt(pthread_self()) &* 0x9E37_79B9_7F4A_7C15) >> 60) }

    /// Every stripe's counts added up.
    var total: Counts {
        var total = Counts()
        for stripe in stripes { total.add(stripe.counts.withLock { $0 }) }
        return total
    }

    /// Counts records a request applied: `accepted` and `rejected` from `source`, and the
    /// size of the file's batch if it was one.
    func recordApplied(source: String, accepted: Int64, rejected: Int64, batchRecords: Int64?) {
        let stripe = stripes[Self.stripeIndex]
        stripe.counts.withLock { counts in
            counts.records[source + "|accepted", default: 0] += accepted
            counts.records[source + "|rejected", default: 0] += rejected
            if let batchRecords {
                if let bucket = Self.batchBuckets.firstIndex(where: { batchRecords <= $0 }) {
                    counts.batchSizes[bucket] += 1
                }
                counts.batches += 1
                counts.batchRecords += batchRecords
            }
        }
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
        writeIngest(snapshot, into: &text)
    }

    /// Ingest throughput: records applied by source and outcome, and records per file.
    func writeIngest(_ snapshot: Counts, into text: inout MetricsText) {
        let records = "coalition_ingest_records_total"
        text.family(records, type: "counter", help: "Records this server applied or rejected, by source and outcome.")
        for key in snapshot.records.keys.sorted() {
            let parts = key.split(separator: "|").map(String.init)
            text.sample(records, [("source", parts[0]), ("outcome", parts[1])], snapshot.records[key]!)
        }
        let name = "coalition_ingest_batch_records"
        text.family(name, type: "histogram", help: "Records per settlement file taken in by this server.")
        var cumulative: Int64 = 0
        for (index, bound) in Self.batchBuckets.enumerated() {
            cumulative += snapshot.batchSizes[index]
            text.sample(name + "_bucket", [("le", String(bound))], cumulative)
        }
        text.sample(name + "_bucket", [("le", "+Inf")], snapshot.batches)
        text.sample(name + "_sum", snapshot.batchRecords)
        text.sample(name + "_count", snapshot.batches)
    }
}
