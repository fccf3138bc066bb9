/// A chunk's postings as the store writes them: one fixed-size row each, of plain values,
/// with every posting's record id, legs text, detail text and hash in one byte buffer.
///
/// A chunk of 8,192 postings is then two allocations, not four or five a posting: nothing in
/// it is reference counted, copying it copies two buffers, and freeing it frees two. The
/// store binds the bytes where they lie. Read as a collection, it gives each posting as a
/// `Posting` (made on access: for reads back, tests, and the rare reversal of a posting
/// still in memory).
package struct PostingRows: Sendable, RandomAccessCollection {
    /// One posting's fields; its texts lie in `bytes` from `start`: the record id, the legs,
    /// the detail, then the 32-byte hash.
    package struct Row: Sendable {
        package let seq: Int64
        package let batch: Int64
        package let kind: PostingKind
        package let partner: PartnerID?
        package let member: MemberNumber?
        package let counterparty: MemberNumber?
        package let occurredAt: Timestamp
        package let units: Int64
        package let points: Int64
        let start: Int
        /// -1 for no record id.
        let recordIDCount: Int32
        let legsCount: Int32
        let detailCount: Int32

        package var hasRecordID: Bool { recordIDCount >= 0 }

        /// Where the hash lies, after the record id, the legs and the detail.
        var hashStart: Int { start + Swift.max(0, Int(recordIDCount)) + Int(legsCount) + Int(detailCount) }
    }

    package private(set) var rows: [Row] = []
    private var bytes: [UInt8] = []

    package init() {}

    /// Room for `count` postings of about `bytesEach` bytes of text.
    package mutating func reserveCapacity(_ count: Int, bytesEach: Int = 256) {
        rows.reserveCapacity(count)
        bytes.reserveCapacity(count * bytesEach)
    }

    package var startIndex: Int { 0 }
    package var endIndex: Int { rows.count }

    package subscript(index: Int) -> Posting {
        let row = rows[index]
        return withTexts(of: index) { recordID, legs, detail, hash in
            Posting(
                seq: row.seq,
                batch: row.batch,
                kind: row.kind,
                partner: row.partner,
                recordID: row.recordIDCount < 0 ? nil : String(decoding: recordID, as: UTF8.self),
                member: row.member,
                occurredAt: row.occurredAt,
                units: row.units,
                points: row.points,
                legsText: String(decoding: legs, as: UTF8.self),
                detail: String(decoding: detail, as: UTF8.self),
                hash: Array(hash),
                counterparty: row.counterparty
            )
        }
    }

    /// 32 zero bytes: the hash of a posting appended before its hash is known.
    static let unsetHash = [UInt8](repeating: 0, count: SHA256.byteCount)

    package var firstSeq: Int64? { rows.first?.seq }
    package var lastSeq: Int64? { rows.last?.seq }

    /// The posting of sequence number `seq`, if this chunk holds it (its postings follow
    /// each other without a gap).
    package func posting(seq: Int64) -> Posting? {
        guard let first = rows.first?.seq, seq >= first, seq - first < Int64(rows.count) else { return nil }
        return self[Int(seq - first)]
    }

    /// Whether posting `index` is record `key`'s.
    func holds(_ key: RecordKey, at index: Int) -> Bool {
        guard rows[index].partner == key.partner, rows[index].hasRecordID else { return false }
        var id = key.recordID
        return withTexts(of: index) { recordID, _, _, _ in
            id.withUTF8 { UnsafeRawBufferPointer($0).elementsEqual(recordID) }
        }
    }

    /// Calls `body` with the record id, legs, detail and hash bytes of posting `index`,
    /// valid only inside `body`.
    package func withTexts<T>(
        of index: Int,
        _ body: (
            _ recordID: UnsafeRawBufferPointer, _ legs: UnsafeRawBufferPointer, _ detail: UnsafeRawBufferPointer,
            _ hash: UnsafeRawBufferPointer
        ) throws -> T
    ) rethrows -> T {
        let row = rows[index]
        return try bytes.withUnsafeBytes { all in
            var at = Int(row.start)
            func next(_ count: Int) -> UnsafeRawBufferPointer {
                defer { at += count }
                return UnsafeRawBufferPointer(rebasing: all[at..<(at + count)])
            }
            let recordID = next(Swift.max(0, Int(row.recordIDCount)))
            let legs = next(Int(row.legsCount))
            let detail = next(Int(row.detailCount))
            return try body(recordID, legs, detail, next(SHA256.byteCount))
        }
    }

    /// Adds `posting`, as it is.
    package mutating func append(_ posting: Posting) {
        var legs = posting.legsText
        var detail = posting.detail
        _ = legs.withUTF8 { legs in
            detail.withUTF8 { detail in
                posting.hash.withUnsafeBytes { hash in
                    append(
                        seq: posting.seq,
                        batch: posting.batch,
                        kind: posting.kind,
                        partner: posting.partner,
                        recordID: posting.recordID,
                        member: posting.member,
                        counterparty: posting.counterparty,
                        occurredAt: posting.occurredAt,
                        units: posting.units,
                        points: posting.points,
                        legs: UnsafeRawBufferPointer(legs),
                        detail: UnsafeRawBufferPointer(detail),
                        hash: hash
                    )
                }
            }
        }
    }

    /// Adds a posting whose texts are the bytes given (`hash`: 32 of them); gives its index.
    @discardableResult
    package mutating func append(
        seq: Int64,
        batch: Int64,
        kind: PostingKind,
        partner: PartnerID?,
        recordID: String?,
        member: MemberNumber?,
        counterparty: MemberNumber?,
        occurredAt: Timestamp,
        units: Int64,
        points: Int64,
        legs: UnsafeRawBufferPointer,
        detail: UnsafeRawBufferPointer,
        hash: UnsafeRawBufferPointer
    ) -> Int {
        precondition(hash.count == SHA256.byteCount, "a posting's hash is 32 bytes")
        let start = bytes.count
        var recordIDCount: Int32 = -1
        if var recordID {
            recordID.withUTF8 { bytes.append(contentsOf: $0) }
            recordIDCount = Int32(bytes.count - start)
        }
        bytes.append(contentsOf: legs)
        bytes.append(contentsOf: detail)
        bytes.append(contentsOf: hash)
        rows.append(
            Row(
                seq: seq,
                batch: batch,
                kind: kind,
                partner: partner,
                member: member,
                counterparty: counterparty,
                occurredAt: occurredAt,
                units: units,
                points: points,
                start: start,
                recordIDCount: recordIDCount,
                legsCount: Int32(legs.count),
                detailCount: Int32(detail.count)
            )
        )
        return rows.count - 1
    }

    /// The bytes the hash chain covers for posting `index`, made from what the row holds:
    /// what is hashed is what is stored.
    func canonicalBytes(of index: Int, into bytes: inout CanonicalBytes) {
        let row = rows[index]
        withTexts(of: index) { recordID, legs, detail, _ in
            Posting.canonicalBytes(
                into: &bytes,
                seq: row.seq,
                batch: row.batch,
                kind: row.kind,
                partner: row.partner,
                recordID: row.hasRecordID ? recordID : nil,
                member: row.member,
                occurredAt: row.occurredAt,
                units: row.units,
                points: row.points,
                legs: legs,
                detail: detail,
                counterparty: row.counterparty
            )
        }
    }

    /// Sets the hash of posting `index` (32 bytes), appended as a placeholder.
    mutating func setHash(of index: Int, to hash: [UInt8]) {
        precondition(hash.count == SHA256.byteCount, "a posting's hash is 32 bytes")
        let at = rows[index].hashStart
        bytes.replaceSubrange(at..<(at + SHA256.byteCount), with: hash)
    }
}
