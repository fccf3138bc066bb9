/// Every record id the ledger has applied, held in memory at about 16 bytes an id: a 64-bit
/// fingerprint of (partner, record id) mapped to the sequence number of the record's posting.
///
/// A fingerprint names a record only probably, so the index never answers alone: a hit is a
/// *candidate* that the engine confirms against the journal (the posting it names must carry
/// the same key). A miss is certain. The rare key whose fingerprint another key already holds
/// is kept whole in `overflow`, so no record is ever mistaken for another or lost.
///
/// Fingerprints use Swift's per-process seeded hasher: they are never stored, and a partner
/// cannot choose record ids that collide on purpose.
public struct RecordIndex: Equatable, Sendable {
    private var seqs: [UInt64: Int64] = [:]
    private var overflow: [RecordKey: Int64] = [:]
    /// The fingerprint bits kept: 64, or fewer in tests that make keys collide on purpose.
    private let mask: UInt64

    public init() { mask = .max }

    /// An index that keeps only `bits` bits of each fingerprint, so that keys collide often:
    /// for tests of the collision path.
    init(fingerprintBits bits: Int) { mask = bits >= 64 ? .max : (1 << UInt64(bits)) - 1 }

    /// Record ids held.
    public var count: Int { seqs.count + overflow.count }
    public var isEmpty: Bool { count == 0 }
    /// Record ids held whole because another id holds their fingerprint.
    var overflowCount: Int { overflow.count }

    public mutating func reserveCapacity(_ count: Int) { seqs.reserveCapacity(count) }

    /// The fingerprint of `key`.
    public static func fingerprint(_ key: RecordKey) -> UInt64 {
        var id = key.recordID
        return key.partner.withUTF8 { partner in
            id.withUTF8 { fingerprint(partner: partner, id: UnsafeRawBufferPointer($0)) }
        }
    }

    /// The fingerprint of a key given as its UTF-8 bytes (as a store reads them).
    public static func fingerprint(partner: UnsafeRawBufferPointer, id: UnsafeRawBufferPointer) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(bytes: partner)
        hasher.combine(UInt8(ascii: "|"))  // cannot occur in either part
        hasher.combine(bytes: id)
        return UInt64(UInt(bitPattern: hasher.finalize()))
    }

    /// The posting `key` may have been applied as: exact when `isExact`, otherwise a
    /// candidate to confirm against the journal. Nil: `key` was never applied.
    public func candidate(for key: RecordKey) -> (seq: Int64, isExact: Bool)? {
        candidate(for: key, fingerprint: RecordIndex.fingerprint(key))
    }

    /// `candidate(for:)`, given `key`'s fingerprint, already made.
    public func candidate(for key: RecordKey, fingerprint: UInt64) -> (seq: Int64, isExact: Bool)? {
        if !overflow.isEmpty, let seq = overflow[key] { return (seq, true) }
        return seqs[fingerprint & mask].map { ($0, false) }
    }

    /// Adds `key`, known not to be held (the engine confirmed it), applied as posting `seq`.
    public mutating func insert(_ key: RecordKey, seq: Int64) {
        insert(fingerprint: RecordIndex.fingerprint(key), seq: seq, key: key)
    }

    /// Adds a key known not to be held by its fingerprint; `key` is asked for only if another
    /// key holds the fingerprint.
    public mutating func insert(
        fingerprint: UInt64,
        seq: Int64,
        key: @autoclosure () throws -> RecordKey
    ) rethrows {
        // One lookup: the slot is taken if free, and left as it is if another key holds it.
        var isFree = false
        Self.take(&seqs[fingerprint & mask, default: RecordIndex.free], seq, &isFree)
        if !isFree { overflow[try key()] = seq }
    }

    /// Never a sequence number: they start at 1.
    private static let free: Int64 = .min

    private static func take(_ slot: inout Int64, _ seq: Int64, _ isFree: inout Bool) {
        isFree = slot == free
        if isFree { slot = seq }
    }
}
