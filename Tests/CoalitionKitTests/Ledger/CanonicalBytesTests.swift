import CoalitionKit
import Testing

@Suite("Posting: the canonical bytes the hash chain covers")
struct CanonicalBytesTests {
    /// The canonical text as docs/ledger.md defines it, built the plain way.
    static func reference(_ p: Posting) -> String {
        let legs = p.legs.map { "\($0.account) \($0.unit) \($0.amount)" }.joined(separator: ";")
        return "\(p.seq)|\(p.batch)|\(p.kind.rawValue)|\(p.partner?.rawValue ?? "")|\(p.recordID ?? "")|"
            + "\(p.member.map { String($0.value) } ?? "")|\(p.occurredAt.seconds)|\(p.units)|\(p.points)|"
            + "\(legs)|\(p.detail)" + (p.counterparty.map { "|c=\($0.value)" } ?? "")
    }

    @Test("every posting of generated activity, and integers at their limits, encode as the reference text")
    func generated() throws {
        let t = try TestLedger.generated(members: 40, records: 600, seed: 7)
        var count = 0
        try t.store.forEachPosting { posting in
            #expect(posting.canonicalText == Self.reference(posting), "posting \(posting.seq)")
            #expect(posting.legsText == Posting.encode(posting.legs))
            count += 1
        }
        #expect(count > 600)

        let extremes: [Int64] = [0, 1, -1, 9, 10, -10, 99, 100, Int64.max, Int64.min + 1, -1_000_000_000_000]
        for (index, amount) in extremes.enumerated() {
            let posting = Posting(
                seq: Int64(index + 1),
                batch: amount,
                kind: .transfer,
                partner: nil,
                recordID: nil,
                member: try MemberNumber.withCheckDigit(999_999_999_999_999),
                occurredAt: Timestamp(seconds: amount),
                units: amount,
                points: -amount,
                legs: [Leg("a", "PTS", amount), Leg("b", "PTS", Int64.min)],
                detail: "x=\(amount)",
                hash: [],
                counterparty: try MemberNumber.withCheckDigit(10_000_000)
            )
            #expect(posting.canonicalText == Self.reference(posting), "\(amount)")
        }
    }
}
