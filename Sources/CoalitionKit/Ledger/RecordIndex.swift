/// Every record id the ledger has applied, held in memory in 16-byte slots (22 to 43 bytes an
/// id, as the table fills from three eighths to three quarters): a 64-bit fingerprint of
/// (partner, record id) mapped to the sequence number of the record's posting.
///
/// A fingerprint names a record only probably, so the index never answers alone: a hit is a
/// *candidate* that the engine confirms against the journal (the posting it names must carry
/// the same key). A miss is certain. The rare key whose fingerprint another key already holds
/// is kept whole in `overflow`, so no record is ever mistaken for another or lost.
///
/// Fingerprints use Swift's per-process seeded hasher: they are never stored, and a partner
/// cannot choose record ids that collide on purpose. Being hashes already, they place
/// themselves in an open-addressed table of (fingerprint, seq) pairs: one probe a lookup
/// touches one cache line, and growing the table moves pairs without hashing anything again.
package struct RecordIndex: Sendable {
    /// One (fingerprint, seq) pair; seq 0 marks a free slot (sequence numbers start at 1).
    private struct Slot {
        var fingerprint: UInt64
        var seq: Int64
    }

    /// A power of two in length (or empty), at most `maxLoad` full; linear probing from the
    /// slot the fingerprint's low bits name.
    private var slots: [Slot] = []
    private var held = 0
    private var overflow: [RecordKey: Int64] = [:]
    /// The fingerprint bits kept: 64, or fewer in tests that make keys collide on purpose.
    private let mask: UInt64

    package init() { mask = .max }

    /// An index that keeps only `bits` bits of each fingerprint, so that keys collide often:
    /// for tests of the collision path.
    init(fingerprintBits bits: Int) { mask = bits >= 64 ? .max : (1 << UInt64(bits)) - 1 }

    /// Record ids held.
    package var count: Int { held + overflow.count }
    package var isEmpty: Bool { count == 0 }
    /// Record ids held whole because another id holds their fingerprint.
    var overflowCount: Int { overflow.count }

    /// Makes room for `count` fingerprints in all, so that none of them grows the table.
    package mutating func reserveCapacity(_ count: Int) {
        let needed = RecordIndex.capacity(holding: count)
        if needed > slots.count { resize(to: needed) }
    }

    /// The fingerprint of `key`.
    package static func fingerprint(_ key: RecordKey) -> UInt64 {
        var id = key.recordID
        return key.partner.withUTF8 { partner in
            id.withUTF8 { fingerprint(partner: partner, id: UnsafeRawBufferPointer($0)) }
        }
    }

    /// The fingerprint of a key given as its UTF-8 bytes (as a store reads them).
    package static func fingerprint(partner: UnsafeRawBufferPointer, id: UnsafeRawBufferPointer) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(bytes: partner)
        hasher.combine(UInt8(ascii: "|"))  // cannot occur in either part
        hasher.combine(bytes: id)
        return UInt64(UInt(bitPattern: hasher.finalize()))
    }

    /// The posting `key` may have been applied as: exact when `isExact`, otherwise a
    /// candidate to confirm against the journal. Nil: `key` was never applied.
    package func candidate(for key: RecordKey) -> (seq: Int64, isExact: Bool)? {
        candidate(for: key, fingerprint: RecordIndex.fingerprint(key))
    }

    /// `candidate(for:)`, given `key`'s fingerprint, already made.
    package func candidate(for key: RecordKey, fingerprint: UInt64) -> (seq: Int64, isExact: Bool)? {
        if !overflow.isEmpty, let seq = overflow[key] { return (seq, true) }
        return probe(fingerprint & mask).seq.map { ($0, false) }
    }

    /// Adds `key`, known not to be held (the engine confirmed it), applied as posting `seq`.
    package mutating func insert(_ key: RecordKey, seq: Int64) {
        insert(fingerprint: RecordIndex.fingerprint(key), seq: seq, key: key)
    }

    /// Adds a key known not to be held by its fingerprint; `key` is asked for only if another
    /// key holds the fingerprint.
    package mutating func insert(
        fingerprint: UInt64,
        seq: Int64,
        key: @autoclosure () throws -> RecordKey
    ) rethrows {
        precondition(seq > 0, "sequence numbers start at 1")
        if held + 1 > RecordIndex.maxLoad(slots.count) { resize(to: max(16, slots.count * 2)) }
        let fingerprint = fingerprint & mask
        let (place, taken) = probe(fingerprint)
        guard taken == nil else {
            overflow[try key()] = seq
            return
        }
        slots.withUnsafeMutableBufferPointer { $0[place] = Slot(fingerprint: fingerprint, seq: seq) }
        held += 1
    }

    /// The slot holding `fingerprint` and its seq, or the free slot where it would go.
    private func probe(_ fingerprint: UInt64) -> (place: Int, seq: Int64?) {
        slots.withUnsafeBufferPointer { slots in
            guard !slots.isEmpty else { return (0, nil) }
            let last = slots.count - 1
            var place = Int(truncatingIfNeeded: fingerprint) & last
            while true {
                let slot = slots[place]
                if slot.seq == 0 { return (place, nil) }
                if slot.fingerprint == fingerprint { return (place, slot.seq) }
                place = (place + 1) & last
            }
        }
    }

    /// At most three quarters full: a miss, the common case, then probes 2.5 slots on average
    /// when the table is half full and 8.5 (two or three cache lines) at its fullest.
    private static func maxLoad(_ capacity: Int) -> Int { capacity / 4 * 3 }

    private static func capacity(holding count: Int) -> Int {
        var capacity = 16
        while maxLoad(capacity) < count { capacity *= 2 }
        return capacity
    }

    /// Moves every pair into a table of `capacity` slots.
    private mutating func resize(to capacity: Int) {
        var grown = [Slot](repeating: Slot(fingerprint: 0, seq: 0), count: capacity)
        grown.withUnsafeMutableBufferPointer { grown in
            let last = capacity - 1
            for slot in slots where slot.seq != 0 {
                var place = Int(truncatingIfNeeded: slot.fingerprint) & last
                while grown[place].seq != 0 { place = (place + 1) & last }
                grown[place] = slot
            }
        }
        slots = grown
    }
}

extension RecordIndex: Equatable {
    /// The same fingerprints naming the same postings, and the same keys held whole, however
    /// the tables came to be laid out.
    package static func == (lhs: RecordIndex, rhs: RecordIndex) -> Bool {
        guard lhs.mask == rhs.mask, lhs.held == rhs.held, lhs.overflow == rhs.overflow else { return false }
        return lhs.slots.allSatisfy { slot in slot.seq == 0 || rhs.probe(slot.fingerprint).seq == slot.seq }
    }
}
