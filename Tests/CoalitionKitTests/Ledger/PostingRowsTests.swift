import Testing

@testable import CoalitionKit

@Suite("PostingRows: a chunk's postings in fixed rows and one byte buffer")
struct PostingRowsTests {
    @Test("every posting of generated activity, and edge cases, read back as it was appended")
    func roundTrip() throws {
        let t = try TestLedger.generated(members: 30, records: 400, seed: 11)
        var postings: [Posting] = []
        try t.store.forEachPosting { postings.append($0) }
        // No record id, an empty one is impossible (ids are checked), empty legs and detail,
        // a long record id and non-ASCII detail.
        postings.append(
            Posting(
                seq: Int64(postings.count + 1),
                batch: 7,
                kind: .expire,
                partner: nil,
                recordID: nil,
                member: nil,
                occurredAt: Timestamp(seconds: -1),
                units: 0,
                points: 0,
                legs: [],
                detail: "",
                hash: [UInt8](repeating: 0xAB, count: 32)
            )
        )
        postings.append(
            Posting(
                seq: Int64(postings.count + 1),
                batch: 8,
                kind: .transfer,
                partner: try PartnerID("ABCDEFGHIJKLMNOP"),
                recordID: String(repeating: "R-0123456789", count: 5),
                member: try MemberNumber.withCheckDigit(999_999_999_999_999),
                occurredAt: Timestamp(seconds: Int64.max),
                units: Int64.min,
                points: Int64.max,
                legs: [Leg("a", "PTS", 1), Leg("b", "PTS", -1)],
                detail: "note=café ✓",
                hash: (0..<32).map { UInt8($0) },
                counterparty: try MemberNumber.withCheckDigit(123_456_789)
            )
        )
        #expect(postings.count > 400)

        var rows = PostingRows()
        rows.reserveCapacity(10, bytesEach: 8)  // too small: the buffers must grow
        for posting in postings { rows.append(posting) }
        #expect(rows.count == postings.count)
        #expect(Array(rows) == postings)
        #expect(rows.firstSeq == postings.first?.seq && rows.lastSeq == postings.last?.seq)
        for (index, posting) in postings.enumerated() {
            #expect(rows.posting(seq: posting.seq) == posting)
            rows.withTexts(of: index) { recordID, legs, detail, hash in
                #expect(rows.rows[index].hasRecordID == (posting.recordID != nil))
                #expect(String(decoding: recordID, as: UTF8.self) == (posting.recordID ?? ""))
                #expect(String(decoding: legs, as: UTF8.self) == posting.legsText)
                #expect(String(decoding: detail, as: UTF8.self) == posting.detail)
                #expect(Array(hash) == posting.hash)
            }
        }
        #expect(rows.posting(seq: postings[0].seq - 1) == nil)
        #expect(rows.posting(seq: postings[postings.count - 1].seq + 1) == nil)
        #expect(PostingRows().posting(seq: 1) == nil && PostingRows().firstSeq == nil)
    }
}
