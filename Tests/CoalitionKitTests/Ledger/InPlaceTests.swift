import CoalitionKit
import Testing

@Suite("BatchBuilder: earns and redemptions change a member in place")
struct InPlaceTests {
    let harbor = try! PartnerID("HARBOR")
    let skyways = try! PartnerID("SKYWAYS")
    let alice = try! MemberNumber.withCheckDigit(500_000_001)

    /// Where the member's lots are stored now.
    func storage(_ t: TestLedger) -> UnsafeRawPointer? {
        t.ledger.state.members[alice]!.lots.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
    }

    @Test("the lots' storage moves only when it grows, not for each record (no copy of the member)")
    func noCopy() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: harbor, "2026-01-10T00:00:00Z"))
        var moves = 0
        var last = storage(t)
        for day in 0..<200 {
            let time = Timestamp(seconds: 1_769_904_000 + Int64(day) * 3_600)  // 2026-02-01, hourly
            let record =
                day % 4 == 3
                ? LedgerRecord(key: r.key(skyways), occurredAt: time, body: .redeem(member: alice, units: 500))
                : LedgerRecord(key: r.key(harbor), occurredAt: time, body: .earn(member: alice, units: 3_000))
            try t.accept(record)
            let now = storage(t)
            if now != last { moves += 1 }
            last = now
        }
        #expect(t.lots(alice).count > 100)
        // Growth doubles the storage: a handful of moves (a copy per record would move it 200 times).
        #expect(moves <= 12, "moved \(moves) times")
        try t.checkEverything()
    }
}
