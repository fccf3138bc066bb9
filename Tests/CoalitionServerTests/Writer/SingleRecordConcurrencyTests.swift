import CoalitionKit
import CoalitionServer
import Foundation
import Testing

@Suite("Single records from many threads: applied once, group-committed, answered when durable")
struct SingleRecordConcurrencyTests {
    @Test func theSameRecordIdFromSixteenThreadsAppliesOnce() throws {
        let sandbox = try APISandbox()
        try sandbox.enrolAndEarn(1)
        let body = recordJSON("REDEEM", id: "R-SAME", member: SettlementLines.member(1), units: 100)
        let gate = Gate()
        let failures = Failures()
        let applied = Counter()
        let bodies = Bodies()
        let threads = (0..<16).map { _ in
            TestThread {
                gate.wait()
                do {
                    let response = try sandbox.post(body)
                    guard response.status == 200 else { return failures.add("status \(response.status)") }
                    if response.headers["Coalition-Record-Status"] == "applied" { applied.add() }
                    bodies.add(bodyBytes(response))
                } catch {
                    failures.add("\(error)")
                }
            }
        }
        gate.open()
        for thread in threads { #expect(thread.join(within: 60)) }
        #expect(failures.all.isEmpty)
        #expect(applied.value == 1)
        #expect(bodies.distinct == 1 && bodies.count == 16)
        let balance = try sandbox.writer.perform { ledger in
            ledger.member(try MemberNumber(SettlementLines.member(1)))?.balance ?? -1
        }
        #expect(balance == 450)
    }

    @Test func manyRecordsFromManyThreadsAreAllAppliedEachAnsweredAfterItsCommit() throws {
        let sandbox = try APISandbox()
        let members = 24
        for n in 1...members {
            #expect(
                try sandbox.post(recordJSON("ENROLL", id: "E\(n)", member: SettlementLines.member(n))).status == 200
            )
        }
        let gate = Gate()
        let failures = Failures()
        let perThread = 8
        let threads = (1...members).map { n in
            TestThread {
                gate.wait()
                for i in 0..<perThread {
                    do {
                        let body = recordJSON("EARN", id: "P\(n)-\(i)", member: SettlementLines.member(n), units: 10)
                        let response = try sandbox.post(body)
                        guard response.status == 200 else { return failures.add("status \(response.status)") }
                        let answer = try receipt(response)
                        // The batch that holds it had committed before the answer was sent.
                        if !sandbox.commits.contains(batch: answer.batch) { failures.add("answered before commit") }
                    } catch {
                        failures.add("\(error)")
                    }
                }
            }
        }
        gate.open()
        for thread in threads { #expect(thread.join(within: 120)) }
        #expect(failures.all.isEmpty)
        let total = try sandbox.writer.perform { ledger in
            try (1...members).reduce(Int64(0)) { sum, n in
                sum + (ledger.member(try MemberNumber(SettlementLines.member(n)))?.balance ?? 0)
            }
        }
        #expect(total == Int64(members * perThread * 5))
    }

    @Test func recordsQueuedTogetherCommitAsOneBatch() throws {
        let sandbox = try APISandbox()
        try sandbox.enrolAndEarn(1)
        // Hold the writer with a job until every record is queued behind it.
        let release = Gate()
        let holding = Gate()
        let holder = TestThread {
            _ = try? sandbox.writer.perform { _ in
                holding.open()
                release.wait()
            }
        }
        holding.wait()
        let results = Bodies()
        let threads = (0..<8).map { i in
            TestThread {
                let body = recordJSON("REDEEM", id: "G\(i)", member: SettlementLines.member(1), units: 10)
                if let response = try? sandbox.post(body), response.status == 200, let answer = try? receipt(response) {
                    results.add(Array(String(answer.batch).utf8))
                }
            }
        }
        let deadline = Date(timeIntervalSinceNow: 60)
        while sandbox.writer.waiting < 8 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        release.open()
        #expect(holder.join(within: 60))
        for thread in threads { #expect(thread.join(within: 60)) }
        #expect(results.count == 8)
        #expect(results.distinct == 1)
    }
}

extension SingleRecordConcurrencyTests {
    @Test func aFileQueuedAmongRecordsStaysABatchOfItsOwn() throws {
        let sandbox = try APISandbox()
        try sandbox.enrolAndEarn(1)
        let release = Gate()
        let holding = Gate()
        let holder = TestThread {
            _ = try? sandbox.writer.perform { _ in
                holding.open()
                release.wait()
            }
        }
        holding.wait()
        let file = try sandbox.settlementFile(sequence: 1, body: SettlementLines.enrolAndEarn(2, prefix: "SKY"))
        let batches = Bodies()
        var threads = (0..<6).map { i in
            TestThread {
                let body = recordJSON("REDEEM", id: "M\(i)", member: SettlementLines.member(1), units: 10)
                if let response = try? sandbox.post(body), response.status == 200, let answer = try? receipt(response) {
                    batches.add(Array(String(answer.batch).utf8))
                }
            }
        }
        threads.append(TestThread { _ = try? sandbox.deliver(file) })
        let deadline = Date(timeIntervalSinceNow: 60)
        while sandbox.writer.waiting < 7 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        release.open()
        #expect(holder.join(within: 60))
        for thread in threads { #expect(thread.join(within: 60)) }
        let fileBatch = try sandbox.writer.perform { ledger in
            try ledger.store.batch(partner: try PartnerID("SKYWAYS"), sequence: 1)?.id
        }
        let recordBatches = Set(batches.all.map { Int64(String(decoding: $0, as: UTF8.self)) })
        #expect(batches.count == 6)
        #expect(fileBatch != nil && !recordBatches.contains(fileBatch))
        // The records before the file in the queue share a batch, those after it another.
        #expect(recordBatches.count <= 2)
    }
}

/// Response bodies from threads.
final class Bodies: @unchecked Sendable {
    // Safe to share: every access holds `lock`.
    private let lock = NSLock()
    private var bodies: [[UInt8]] = []
    func add(_ body: [UInt8]) { lock.withLock { bodies.append(body) } }
    var all: [[UInt8]] { lock.withLock { bodies } }
    var count: Int { lock.withLock { bodies.count } }
    var distinct: Int { lock.withLock { Set(bodies).count } }
}

@Suite("A file and single records interleaved on one ledger")
struct FileAndSingleRecordTests {
    @Test func aRecordIdSentByBothPathsAtOnceIsAppliedOnce() throws {
        let sandbox = try APISandbox()
        let members = 40
        for n in 1...members {
            #expect(
                try sandbox.post(recordJSON("ENROLL", id: "E\(n)", member: SettlementLines.member(n))).status == 200
            )
        }
        // The same EARNs, X1 to X40, in a file and as single records, sent at once.
        let lines = (1...members).map { "EARN|X\($0)|\(SettlementLines.member($0))|1000|2026-11-21T09:00:00Z|" }
        let file = try sandbox.settlementFile(sequence: 1, body: lines)
        let gate = Gate()
        let failures = Failures()
        let delivery = TestThread {
            gate.wait()
            if (try? sandbox.deliver(file))?.status != 200 { failures.add("the file was not applied") }
        }
        let singles = TestThread {
            gate.wait()
            for n in (1...members).reversed() {
                let body = recordJSON(
                    "EARN",
                    id: "X\(n)",
                    member: SettlementLines.member(n),
                    units: 1_000,
                    at: "2026-11-21T09:00:00Z"
                )
                let status = (try? sandbox.post(body))?.status
                if status != 200 { failures.add("X\(n): \(String(describing: status))") }
            }
        }
        gate.open()
        #expect(delivery.join(within: 120) && singles.join(within: 120))
        #expect(failures.all.isEmpty)
        // Whichever path came first applied each record; the other did not apply it again.
        let balances = try sandbox.writer.perform { ledger in
            try (1...members).map { ledger.member(try MemberNumber(SettlementLines.member($0)))?.balance ?? -1 }
        }
        #expect(balances == Array(repeating: 500, count: members))
    }
}
