import CoalitionTestSupport
import Testing

@testable import CoalitionKit

@Suite("Record index: fingerprints that collide never confuse two records")
struct RecordIndexTests {
    /// Keys of two partners, with ids of every length up to 64.
    static func keys(_ count: Int, prefix: String) -> [RecordKey] {
        let partners = [try! PartnerID("SKYWAYS"), try! PartnerID("HARBOR")]
        return (0..<count).map { n in
            let id = String("\(prefix)\(n)-" + String(repeating: "x", count: n % 50)).prefix(64)
            return try! RecordKey(partner: partners[n % 2], recordID: String(id))
        }
    }

    /// What the engine does with a candidate: confirm it against the journal.
    static func lookup(_ key: RecordKey, in index: RecordIndex, journal: [Int64: RecordKey]) -> Int64? {
        guard let candidate = index.candidate(for: key) else { return nil }
        let held = journal[candidate.seq]
        if candidate.isExact { #expect(held == key) }
        return held == key ? candidate.seq : nil
    }

    @Test("with 2, 5 and 64 fingerprint bits, every key finds its own posting and no other", arguments: [2, 5, 64])
    func narrowFingerprints(bits: Int) {
        var index = RecordIndex(fingerprintBits: bits)
        var journal: [Int64: RecordKey] = [:]
        let held = Self.keys(400, prefix: "A")
        for (offset, key) in held.enumerated() {
            let seq = Int64(offset + 1)
            #expect(Self.lookup(key, in: index, journal: journal) == nil)
            index.insert(key, seq: seq)
            journal[seq] = key
        }
        #expect(index.count == held.count)
        if bits < 64 { #expect(index.overflowCount >= held.count - (1 << bits)) }
        for (offset, key) in held.enumerated() {
            #expect(Self.lookup(key, in: index, journal: journal) == Int64(offset + 1), "\(key)")
        }
        for key in Self.keys(400, prefix: "B") {
            #expect(Self.lookup(key, in: index, journal: journal) == nil, "\(key)")
        }
    }

    @Test("a ledger whose index collides all the time decides every record as one that never collides")
    func engineWithCollisions() throws {
        let network = Fixtures.network
        var plain = try TestLedger(network: network)
        var colliding = try TestLedger(network: network)
        colliding.ledger.state.records = RecordIndex(fingerprintBits: 3)
        let start = Fixtures.time("2025-02-01T00:00:00Z")
        var generator = OperationGenerator(network: network, seed: 0x1D5, start: start, step: 600)
        var duplicates = 0
        var reversals = 0
        for _ in 0..<40 {
            let planned = generator.makeBatch(60, ledger: plain.ledger)
            let records = planned.map(\.record)
            let expected = try plain.apply(records)
            let outcomes = try colliding.apply(records)
            #expect(outcomes == expected)
            generator.observe(planned, expected)
            // A replay is all duplicates on both.
            let replayed = try colliding.apply(records)
            for (outcome, first) in zip(replayed, expected) where first.isAccepted {
                guard case .rejected(let error) = outcome else {
                    Issue.record("a replayed record was applied again")
                    continue
                }
                #expect(error.code == .duplicateRecord)
            }
            _ = try plain.apply(records)
            duplicates +=
                expected.filter { if case .rejected(let e) = $0 { e.code == .duplicateRecord } else { false } }.count
            reversals +=
                zip(records, expected).filter { record, outcome in
                    if case .reverse = record.body { outcome.isAccepted } else { false }
                }.count
        }
        #expect(colliding.ledger.state.records.overflowCount > 100)
        #expect(colliding.store.content == plain.store.content)
        #expect(duplicates > 0)
        #expect(reversals > 10)
    }

    @Test("through every growth of its table, the index answers as a dictionary of the same keys", arguments: [12, 64])
    func growsAsADictionary(bits: Int) {
        var random = SeededGenerator(seed: UInt64(bits))
        var index = RecordIndex(fingerprintBits: bits)
        var model: [RecordKey: Int64] = [:]
        let partners = [try! PartnerID("SKYWAYS"), try! PartnerID("HARBOR")]
        func key(_ n: UInt64) -> RecordKey {
            try! RecordKey(partner: partners[Int(n % 2)], recordID: "R\(n)")
        }
        var seq: Int64 = 0
        for round in 0..<20_000 {
            let n = random.next() % 30_000
            let probe = key(n)
            // A candidate the journal does not confirm is a miss, as the engine treats it.
            let found = index.candidate(for: probe).flatMap { model[probe] == $0.seq ? $0.seq : nil }
            #expect(found == model[probe], "round \(round): \(probe)")
            if found == nil {
                seq += 1
                index.insert(probe, seq: seq)
                model[probe] = seq
            }
        }
        #expect(index.count == model.count)
        for (key, seq) in model { #expect(index.candidate(for: key)?.seq == seq) }
        if bits < 64 { #expect(index.overflowCount > 0) } else { #expect(index.overflowCount == 0) }

        // The same keys inserted in the same order into a table reserved once (laid out
        // otherwise: it never grew) are equal; one key more is not. Compared as Bools, so a
        // failure does not print every slot.
        var reserved = RecordIndex(fingerprintBits: bits)
        reserved.reserveCapacity(model.count)
        for (key, seq) in model.sorted(by: { $0.value < $1.value }) { reserved.insert(key, seq: seq) }
        let same = reserved == index
        #expect(same)
        var other = reserved
        other.insert(key(1_000_000), seq: seq + 1)
        let differs = other != index
        #expect(differs)
        let empties = RecordIndex() == RecordIndex() && RecordIndex() != index
        #expect(empties)
    }
}
