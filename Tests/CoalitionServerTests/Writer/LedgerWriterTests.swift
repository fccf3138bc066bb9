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
        @Sendable func deliverOrRead(_ index: Int) {
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
        let threads = (0..<partners.count * 2).map { index in TestThread { deliverOrRead(index) } }
        for thread in threads { thread.join() }
        #expect(failures.all.isEmpty, "\(failures.all)")
        let report = try sandbox.writer.perform { try Audit.run($0) }
        #expect(report.isClean, "\(report.problems)")
        #expect(report.postings >= Int64(partners.count * batches * 3))
        for partner in partners {
            let last = try sandbox.writer.perform { try $0.store.lastSequence(partner: try PartnerID(partner)) }
            #expect(last == Int64(batches))
        }
    }

    /// Holds `writer` with a job that runs until `gate` opens, then queues `count` more
    /// behind it one at a time (each seen waiting before the next comes, so none is refused
    /// and none is taken early); each job that runs adds to `ran`. Returns their threads.
    static func hold(_ writer: LedgerWriter, until gate: Gate, waiting count: Int, ran: Counter) -> [TestThread] {
        let started = Gate()
        var threads = [
            TestThread {
                let done = try? writer.perform { _ in
                    started.open()
                    gate.wait()
                    return true
                }
                if done == true { ran.add() }
            }
        ]
        started.wait()
        for queued in 1...count {
            threads.append(
                TestThread {
                    if (try? writer.perform { _ in true }) == true { ran.add() }
                }
            )
            while writer.waiting < queued { usleep(1_000) }
        }
        return threads
    }

    /// With the writer held by a job and the queue full, a delivery is refused at once with
    /// 503 and Retry-After, and applies nothing; once the queue drains it is taken.
    @Test func aFullQueueIs503() throws {
        let sandbox = try APISandbox(capacity: 2)
        let gate = Gate()
        let holders = Self.hold(sandbox.writer, until: gate, waiting: 2, ran: Counter())  // the queue is full
        let file = try sandbox.settlementFile(sequence: 1, body: SettlementLines.enrolAndEarn(1, prefix: "SKY"))
        let response = try sandbox.deliver(file)
        #expect(response.status == 503)
        #expect(response.headers["Retry-After"] == "1")
        #expect(try errorBody(response).code == "WRITER_BUSY")
        gate.open()
        for thread in holders { thread.join() }
        #expect(try sandbox.deliver(file).status == 200)
    }

    /// While the writer is held by a long job, acknowledgements and statements are still
    /// served: reads never queue behind it.
    @Test func readsDoNotWaitForTheWriter() throws {
        let sandbox = try APISandbox()
        let file = try sandbox.settlementFile(sequence: 1, body: SettlementLines.enrolAndEarn(1, prefix: "SKY"))
        let acknowledgement = bodyBytes(try sandbox.deliver(file))
        let gate = Gate()
        let started = Gate()
        let holder = TestThread {
            _ = try? sandbox.writer.perform { _ in
                started.open()
                gate.wait()
            }
        }
        started.wait()
        let answers = Failures()
        let reader = TestThread {
            do {
                let ack = try sandbox.get("/v1/acknowledgements/1")
                if bodyBytes(ack) != acknowledgement { answers.add("acknowledgement: \(ack.status)") }
                let list = try sandbox.get("/v1/statements")
                if list.status != 200 { answers.add("statements: \(list.status)") }
                answers.add("done")
            } catch {
                answers.add("\(error)")
            }
        }
        // A guard against a deadlock, not a timing: the reads take milliseconds.
        #expect(reader.join(within: 120), "a read waited for the writer")
        #expect(answers.all == ["done"])
        gate.open()
        holder.join()
        reader.join()
    }

    /// Shutdown runs what is queued, then refuses more.
    @Test func shutdownFinishesQueuedJobsThenRefuses() throws {
        let sandbox = try APISandbox(capacity: 8)
        let gate = Gate()
        let done = Counter()
        let callers = Self.hold(sandbox.writer, until: gate, waiting: 3, ran: done)
        // Shutdown is called while one job runs and three wait; the gate opens only once
        // it has begun refusing new jobs, so it cannot have returned before they ran.
        let stopper = TestThread { try? sandbox.writer.shutdown() }
        while !sandbox.writer.isShuttingDown { usleep(1_000) }
        #expect(!stopper.join(within: 0), "shutdown returned with jobs still queued")
        gate.open()
        stopper.join()
        for thread in callers { thread.join() }
        #expect(done.value == 4)
        let file = try sandbox.settlementFile(sequence: 1, body: SettlementLines.enrolAndEarn(1, prefix: "SKY"))
        let response = try sandbox.deliver(file)
        #expect(response.status == 503)
        #expect(try errorBody(response).code == "SHUTTING_DOWN")
    }
}
