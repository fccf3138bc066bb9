import CoalitionKit
import CoalitionSQLite
import CoalitionTestSupport
import Foundation
import Testing

/// A batch's chunks are written on a second thread while the engine plans the next; what the
/// engine reads back meanwhile comes from the chunks in memory, from a read-only connection
/// for what was committed, or from the writer once it is done. None of that may show.
@Suite("SQLiteStore: chunks written in the background")
struct PipelinedWriteTests {
    /// Applies `batches`, each cut into chunks of seeded sizes from `chunkSizes`.
    static func run(
        _ batches: [[LedgerRecord]],
        chunkSizes: ClosedRange<Int>,
        seed: UInt64,
        in path: String
    ) throws
        -> (StateImage, String, [[RecordOutcome]])
    {
        let store = try SQLiteStore(path: path, create: true)
        let ledger = try Ledger(network: Fixtures.network, store: store)
        var random = SeededGenerator(seed: seed)
        var outcomes: [[RecordOutcome]] = []
        for batch in batches {
            let result = try ledger.batch(Fixtures.info) { session in
                var rest = batch[...]
                var all: [RecordOutcome] = []
                while !rest.isEmpty {
                    let size = Int.random(in: chunkSizes, using: &random)
                    all += try session.apply(Array(rest.prefix(size)))
                    rest = rest.dropFirst(size)
                }
                return all
            }
            outcomes.append(result)
        }
        #expect(try Audit.run(ledger).isClean)
        let image = StateImage(ledger.state)
        let reopened = try Ledger(network: Fixtures.network, store: store)
        #expect(StateImage(reopened.state) == image)
        return (image, try store.contentDump(), outcomes)
    }

    @Test(
        "tiny chunks (reversals reach past the chunks in memory) decide and store as one chunk a batch",
        arguments: [
            (UInt64(3), 1...3), (UInt64(4), 1...12), (UInt64(5), 20...90),
        ]
    )
    func chunkingDoesNotShow(seed: UInt64, chunkSizes: ClosedRange<Int>) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let records = Fixtures.activity(seed: seed, members: 60, records: 1_500)
        let batches = Fixtures.batches(records, seed: seed)
        let whole = try Self.run(batches, chunkSizes: 100_000...100_000, seed: seed, in: directory.file("whole.sqlite"))
        let chunked = try Self.run(batches, chunkSizes: chunkSizes, seed: seed, in: directory.file("chunked.sqlite"))
        #expect(chunked.2 == whole.2)
        #expect(chunked.0 == whole.0)
        #expect(chunked.1 == whole.1)
        let reversals = records.filter { if case .reverse = $0.body { true } else { false } }.count
        #expect(reversals > 30)
    }

    @Test("during a batch, each posting read back is the one asked for, whatever was read or read ahead before it")
    func readsBackDuringABatch() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try SQLiteStore(path: directory.ledgerPath, create: true)
        let ledger = try Ledger(network: Fixtures.network, store: store)
        let records = Fixtures.activity(seed: 21, members: 40, records: 900)
        try ledger.apply(Array(records.prefix(300)), info: Fixtures.info)
        let committed = ledger.state.lastSeq
        var random = SeededGenerator(seed: 21)
        var seen: [(Int64, Posting?, AppliedRecord?)] = []
        try ledger.batch(Fixtures.info) { session in
            // Chunks of 10: far more than the chunks kept in memory.
            for start in stride(from: 300, to: 900, by: 10) {
                _ = try session.apply(Array(records[start..<(start + 10)]))
            }
            let last = ledger.state.lastSeq
            for round in 0..<300 {
                // A record's posting (committed or written in this batch), then another one;
                // every other round, some of them (and others) read ahead first.
                let a = Int64.random(in: 1...last, using: &random)
                let b = Int64.random(in: 1...last, using: &random)
                if round % 2 == 0 {
                    try store.prefetch(seqs: [a, Int64.random(in: 1...last, using: &random), a, last + 5])
                }
                let applied = try store.appliedRecord(seq: a)
                seen.append((a, nil, applied))
                seen.append((b, try store.posting(seq: b), nil))
                seen.append((a, try store.posting(seq: a), nil))
            }
            #expect(last > committed + 400)
        }
        for (seq, posting, applied) in seen {
            if let posting { #expect(posting == (try store.posting(seq: seq)), "posting \(seq)") }
            if let applied {
                let stored = try store.appliedRecord(seq: seq)
                // Reversals later in the batch may have reversed more of it since.
                #expect(applied.key == stored?.key && applied.entry.seq == stored?.entry.seq, "record \(seq)")
            }
        }
    }

    @Test("a chunk that fails to write fails its batch, which leaves the ledger as it was")
    func failedChunk() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try SQLiteStore(path: directory.ledgerPath, create: true)
        let ledger = try Ledger(network: Fixtures.network, store: store)
        let records = Fixtures.activity(seed: 9, members: 40, records: 600)
        try ledger.apply(Array(records.prefix(300)), info: Fixtures.info)
        let before = StateImage(ledger.state)
        let dump = try store.contentDump()
        // Any lot row the next chunks write is refused by the database.
        try store.executeForTesting(
            "CREATE TRIGGER refuse BEFORE INSERT ON lots BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
        #expect(throws: CoalitionError.self) {
            try ledger.batch(Fixtures.info) { session in
                for start in stride(from: 300, to: 600, by: 25) {
                    _ = try session.apply(Array(records[start..<min(600, start + 25)]))
                }
            }
        }
        #expect(StateImage(ledger.state) == before)
        try store.executeForTesting("DROP TRIGGER refuse")
        #expect(try store.contentDump() == dump)
        // The same records go in once the database takes them.
        try ledger.apply(Array(records[300...]), info: Fixtures.info)
        #expect(try Audit.run(ledger).isClean)
    }

    /// A SKYWAYS record of one instant, by id: the hand-made scenarios below.
    static func record(_ id: String, _ body: LedgerRecord.Body) throws -> LedgerRecord {
        LedgerRecord(
            key: try RecordKey(partner: try PartnerID("SKYWAYS"), recordID: id),
            occurredAt: Fixtures.time("2026-09-02T00:00:00Z"),
            body: body
        )
    }

    @Test(
        "a record reversed bit by bit across chunks, near and far, and across batches, is reversed exactly once in full"
    )
    func reversedAcrossChunks() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let sky = try PartnerID("SKYWAYS")
        let member = try MemberNumber.withCheckDigit(900_000_077)
        let record = Self.record
        func filler(_ prefix: String, _ count: Int) throws -> [LedgerRecord] {
            try (0..<count).map { try record("\(prefix)\($0)", .earn(member: member, units: 1 + Int64($0))) }
        }
        let store = try SQLiteStore(path: directory.ledgerPath, create: true)
        let ledger = try Ledger(network: Fixtures.network, store: store)
        // Batch 1, committed: the member and an earn C of 3,000 miles.
        try ledger.apply(
            [try record("M", .enroll(member: member)), try record("C", .earn(member: member, units: 3_000))],
            info: Fixtures.info
        )
        // Batch 2, in chunks of one record: C (committed) and N (new in this batch) are each
        // reversed by 1,000 in the next chunk and by 1,000 ten chunks on (past the chunks in
        // memory); then 2,000 more is too much, and the rest is taken without an amount.
        // And K, new too, is reversed in the chunks right after it (still in memory).
        let plan: [LedgerRecord] =
            [try record("K", .earn(member: member, units: 3_000))]
            + [try record("RK1", .reverse(original: "K", units: 1_000))]
            + [try record("RK2", .reverse(original: "K", units: 1_000))]
            + [try record("RK3", .reverse(original: "K", units: 2_000))]
            + [try record("RK4", .reverse(original: "K", units: nil))]
            + [try record("N", .earn(member: member, units: 3_000))]
            + [try record("RC1", .reverse(original: "C", units: 1_000))]
            + [try record("RN1", .reverse(original: "N", units: 1_000))]
            + (try filler("F", 10))
            + [try record("RC2", .reverse(original: "C", units: 1_000))]
            + [try record("RN2", .reverse(original: "N", units: 1_000))]
            + [try record("RC3", .reverse(original: "C", units: 2_000))]
            + [try record("RN3", .reverse(original: "N", units: 2_000))]
            + [try record("RC4", .reverse(original: "C", units: nil))]
            + [try record("RN4", .reverse(original: "N", units: nil))]
            + [try record("RC5", .reverse(original: "C", units: nil))]
        let outcomes = try ledger.batch(Fixtures.info) { session in
            try plan.flatMap { try session.apply([$0]) }
        }
        func code(_ id: String) -> ReasonCode? {
            guard let index = plan.firstIndex(where: { $0.key.recordID == id }) else { return nil }
            if case .rejected(let error) = outcomes[index] { return error.code }
            return nil
        }
        for id in ["RK1", "RK2", "RK4", "RC1", "RN1", "RC2", "RN2", "RC4", "RN4"] { #expect(code(id) == nil, "\(id)") }
        #expect(code("RK3") == .reversalExceedsOriginal)
        #expect(code("RC3") == .reversalExceedsOriginal)
        #expect(code("RN3") == .reversalExceedsOriginal)
        #expect(code("RC5") == .alreadyReversed)
        for id in ["K", "C", "N"] {
            let entry = try ledger.record(RecordKey(partner: sky, recordID: id))
            #expect(entry?.reversedUnits == 3_000, "\(id)")
        }
        // Only the filler's points are left, and a reopened ledger agrees.
        #expect(
            ledger.member(member)?.balance
                == (try Ledger(network: Fixtures.network, store: store)).member(member)?.balance
        )
        #expect(try Audit.run(ledger).isClean)
    }

    @Test("a chunk lost in the background is never committed, even when a later read meets the failure first")
    func lostChunkFailsTheBatch() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let sky = try PartnerID("SKYWAYS")
        let member = try MemberNumber.withCheckDigit(900_000_088)
        let record = Self.record
        let store = try SQLiteStore(path: directory.ledgerPath, create: true)
        let ledger = try Ledger(network: Fixtures.network, store: store)
        try ledger.apply(
            [try record("M", .enroll(member: member)), try record("E0", .earn(member: member, units: 5_000))],
            info: Fixtures.info
        )
        let before = StateImage(ledger.state)
        let dump = try store.contentDump()
        // Only the first lot of the next batch is refused: later chunks write fine.
        try store.executeForTesting(
            """
            CREATE TRIGGER refuse BEFORE INSERT ON lots WHEN NEW.id = \(ledger.state.lastLotID + 1)
            BEGIN SELECT RAISE(ABORT, 'refused'); END
            """
        )
        // One record a chunk: the reversal comes twelve chunks after the earn it undoes, past
        // the chunks kept in memory, so it reads from the writer and meets its failure.
        let plan =
            [try record("E1", .earn(member: member, units: 1_000))]
            + (try (0..<12).map { try record("F\($0)", .earn(member: member, units: 10)) })
            + [try record("R1", .reverse(original: "E1", units: 100))]
        let error = expectError(.storeFailure) {
            try ledger.batch(Fixtures.info) { session in
                for item in plan { _ = try session.apply([item]) }
            }
        }
        #expect(error?.message.contains("refused") == true, "\(String(describing: error))")
        #expect(StateImage(ledger.state) == before)
        try store.executeForTesting("DROP TRIGGER refuse")
        #expect(try store.contentDump() == dump)
        #expect(try ledger.record(RecordKey(partner: sky, recordID: "E1")) == nil)
    }
}
