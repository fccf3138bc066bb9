import Dispatch
import Synchronization
import Testing

@testable import CoalitionSQLite

@Suite("ConnectionGate: a reader gets the writer's connection between two rows, never during one")
struct ConnectionGateTests {
    /// Counts who uses the "connection": never more than one at a time.
    final class Connection: Sendable {
        let users = Atomic<Int>(0)
        let overlaps = Atomic<Int>(0)

        func use() {
            if users.add(1, ordering: .sequentiallyConsistent).newValue != 1 {
                overlaps.add(1, ordering: .relaxed)
            }
            users.subtract(1, ordering: .sequentiallyConsistent)
        }
    }

    @Test("reads go in while the writer is still writing, one at a time with its rows")
    func interleaves() {
        let gate = ConnectionGate()
        let connection = Connection()
        let readsDone = Atomic<Bool>(false)
        let rowsBeforeReadsDone = Atomic<Int>(0)
        let writerIn = DispatchSemaphore(value: 0)
        let writerDone = DispatchSemaphore(value: 0)
        let reads = 2_000
        let maximumRows = 20_000_000
        DispatchQueue.global().async {
            gate.enter()
            writerIn.signal()
            var rows = 0
            // Without the gate's yield, no read would get in until the writer leaves.
            while !readsDone.load(ordering: .acquiring) && rows < maximumRows {
                connection.use()
                rows += 1
                gate.yield()
            }
            rowsBeforeReadsDone.store(rows, ordering: .relaxed)
            gate.leave()
            writerDone.signal()
        }
        writerIn.wait()  // the writer holds the gate: every read must get in between its rows
        for _ in 0..<reads { gate.read { connection.use() } }
        readsDone.store(true, ordering: .releasing)
        writerDone.wait()
        #expect(connection.overlaps.load(ordering: .relaxed) == 0)
        #expect(rowsBeforeReadsDone.load(ordering: .relaxed) < maximumRows)
    }
}
