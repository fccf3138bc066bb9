import CoalitionKit
import CoalitionServer
import Foundation
import Testing

@Suite("The single writer: many callers, one ledger, answers after commit")
struct LedgerWriterTests {
    /// Threads deliver files for four partners at once (each partner's batches in order,
    /// as a partner's system sends them) while others read: every delivery is answered
    /// accepted, only once its batch is committed, and the ledger audits clean after.
    @Test func concurrentDeliveriesAreEachAnsweredAfterTheirCommit() throws {
        let sandbox = try APISandbox(capacity: 16)
        let partners = ["SKYWAYS", "HARBOR", "ROADRUNNER", "MARKETPLACE"]
        let batches = 5
        var files: [[[UInt8]]] = []
        for (p, partner) in partners.enumerated() {
            files.append(
                try (1...batches).map { sequence in
                    let members = (0..<3).map { p * 1_000 + sequence * 10 + $0 }
                    return try sandbox.settlementFile(
                        partner,
                        sequence: Int64(sequence),
                        body: members.flatMap { SettlementLines.enrolAndEarn($0, prefix: "\(partner.prefix(3))") }
                    )
                }
            )
        }
        let failures = Failures()
        let allFiles = files
        DispatchQueue.concurrentPerform(iterations: partners.count * 2) { index in
            let partner = partners[index % partners.count]
            do {
                if index >= partners.count {
                    // A reader: its answers never depend on the writer.
                    for _ in 0..<20 {
                        let status = try sandbox.get("/v1/statements", as: partner).status
                        if status != 200 { failures.add("\(partner): a read answered \(status)") }
                    }
                    return
                }
                let id = try PartnerID(partner)
                for (offset, file) in allFiles[index].enumerated() {
                    let sequence = Int64(offset + 1)
                    let response = try sandbox.deliver(file, as: partner)
                    if response.status != 200 || response.headers["Coalition-Batch-Status"] != "accepted" {
                        failures.add("\(partner) \(sequence): \(response.status)")
                    }
                    if !sandbox.commits.contains(id, sequence) {
                        failures.add("\(partner) \(sequence) was answered before its commit")
                    }
                }
            } catch {
                failures.add("\(partner): \(error)")
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
        let report = try sandbox.writer.perform { try Audit.run($0) }
        #expect(report.isClean, "\(report.problems)")
        #expect(report.postings >= Int64(partners.count * batches * 3))
        for partner in partners {
            let last = try sandbox.writer.perform { try $0.store.lastSequence(partner: try PartnerID(partner)) }
            #expect(last == Int64(batches))
        }
    }

    /// With the writer held by a job and the queue full, a delivery is refused at once with
    /// 503 and Retry-After, and applies nothing; once the queue drains it is taken.
    @Test func aFullQueueIs503() throws {
        let sandbox = try APISandbox(capacity: 2)
        let gate = Gate()
        let started = Gate()
        let group = DispatchGroup()
        for _ in 0..<3 {
            DispatchQueue.global().async(group: group) {
                _ = try? sandbox.writer.perform { _ in
                    started.open()
                    gate.wait()
                }
            }
        }
        started.wait()  // one job runs and holds the writer
        while sandbox.writer.waiting < 2 { usleep(1_000) }  // two wait: the queue is full
        let file = try sandbox.settlementFile(sequence: 1, body: SettlementLines.enrolAndEarn(1, prefix: "SKY"))
        let response = try sandbox.deliver(file)
        #expect(response.status == 503)
        #expect(response.headers["Retry-After"] == "1")
        #expect(try errorBody(response).code == "WRITER_BUSY")
        gate.open()
        group.wait()
        #expect(try sandbox.deliver(file).status == 200)
    }

    /// Shutdown runs what is queued, then refuses more.
    @Test func shutdownFinishesQueuedJobsThenRefuses() throws {
        let sandbox = try APISandbox(capacity: 8)
        let gate = Gate()
        let started = Gate()
        let done = Counter()
        let group = DispatchGroup()
        for _ in 0..<4 {
            DispatchQueue.global().async(group: group) {
                let ran = try? sandbox.writer.perform { _ in
                    started.open()
                    gate.wait()
                    return true
                }
                if ran == true { done.add() }
            }
        }
        started.wait()
        while sandbox.writer.waiting < 3 { usleep(1_000) }
        DispatchQueue.global().async {
            usleep(20_000)
            gate.open()
        }
        try sandbox.writer.shutdown()
        group.wait()
        #expect(done.value == 4)
        let file = try sandbox.settlementFile(sequence: 1, body: SettlementLines.enrolAndEarn(1, prefix: "SKY"))
        let response = try sandbox.deliver(file)
        #expect(response.status == 503)
        #expect(try errorBody(response).code == "SHUTTING_DOWN")
    }
}

/// Messages from threads, collected.
final class Failures: @unchecked Sendable {
    // Safe to share: every access holds `lock`.
    private let lock = NSLock()
    private var messages: [String] = []
    func add(_ message: String) { lock.withLock { messages.append(message) } }
    var all: [String] { lock.withLock { messages } }
}

/// A count from threads.
final class Counter: @unchecked Sendable {
    // Safe to share: every access holds `lock`.
    private let lock = NSLock()
    private var count = 0
    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

/// A gate threads wait at until it is opened (and stays open).
final class Gate: @unchecked Sendable {
    // Safe to share: every access holds `condition`.
    private let condition = NSCondition()
    private var isOpen = false

    func open() {
        condition.lock()
        isOpen = true
        condition.broadcast()
        condition.unlock()
    }

    func wait() {
        condition.lock()
        while !isOpen { condition.wait() }
        condition.unlock()
    }
}
