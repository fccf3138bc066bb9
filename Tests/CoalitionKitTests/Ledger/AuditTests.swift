import CoalitionKit
import Testing

@Suite("Audit: the hash chain and the books, from the store")
struct AuditTests {
    /// A ledger with some cross-brand activity in an in-memory store.
    func ledger() throws -> TestLedger {
        let t = try TestLedger.generated(members: 30, records: 400, seed: 99)
        let report = try Audit.run(t.ledger)
        #expect(report.isClean)
        #expect(report.postings == 430)
        #expect(report.headHash == t.ledger.state.lastHash)
        return t
    }

    /// `posting` with `points` and `legs` replaced.
    func changed(_ posting: Posting, points: Int64? = nil, legs: [Leg]? = nil) -> Posting {
        Posting(
            seq: posting.seq,
            batch: posting.batch,
            kind: posting.kind,
            partner: posting.partner,
            recordID: posting.recordID,
            member: posting.member,
            occurredAt: posting.occurredAt,
            units: posting.units,
            points: points ?? posting.points,
            legs: legs ?? posting.legs,
            detail: posting.detail,
            hash: posting.hash
        )
    }

    @Test("an empty ledger audits clean")
    func empty() throws {
        let t = try TestLedger()
        let report = try Audit.run(t.ledger)
        #expect(report.isClean)
        #expect(report.postings == 0)
        #expect(report.headHash == Posting.genesisHash)
    }

    @Test("a changed amount breaks the chain at that posting, and only there")
    func changedPoints() throws {
        let t = try ledger()
        t.store.tamper(seq: 200) { changed($0, points: $0.points + 1) }
        let report = try Audit.run(t.ledger)
        #expect(report.problems.count == 1)
        #expect(report.problems.first?.hasPrefix("posting 200 does not match the hash chain") == true)
    }

    @Test("changed legs: the chain, the posting's balance and the member's balance all tell")
    func changedLegs() throws {
        let t = try ledger()
        let seq = try #require(t.store.content.postings.first { $0.kind == .earn && $0.seq > 100 }?.seq)
        t.store.tamper(seq: seq) { posting in
            changed(
                posting,
                legs: posting.legs.map {
                    $0.account.hasPrefix("member:") ? Leg($0.account, $0.unit, $0.amount + 5) : $0
                }
            )
        }
        let report = try Audit.run(t.ledger)
        #expect(report.problems.contains { $0.hasPrefix("posting \(seq) does not match the hash chain") })
        #expect(report.problems.contains { $0.hasPrefix("posting \(seq) does not balance in PTS: its legs sum to 5") })
        #expect(report.problems.contains { $0.hasPrefix("member ") && $0.contains("the journal adds up to") })
    }

    @Test("a removed posting is missing from the chain")
    func removed() throws {
        let t = try ledger()
        t.store.removePosting(seq: 123)
        let report = try Audit.run(t.ledger)
        #expect(report.problems.contains { $0.hasPrefix("posting 123 is missing: the journal jumps to 124") })
        #expect(report.problems.contains { $0.contains("does not match the hash chain") })
    }
}
