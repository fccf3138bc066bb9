import CoalitionKit
import CoalitionTestSupport
import Testing

@Suite("Ledger: partial reversals add up and never let the member gain from rounding")
struct PartialReversalTests {
    let skyways = Fixtures.skyways
    let harbor = Fixtures.harbor
    let marketplace = Fixtures.marketplace
    let roadrunner = Fixtures.roadrunner
    let alice = Fixtures.member(1)

    @Test("docs/ledger.md's worked example: 10 HPT earned and 11 HPT redeemed at 1/3, reversed in pieces")
    func workedExample() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: harbor, "2026-01-10T00:00:00Z"))
        let earn = r.earn(alice, 10, at: harbor, "2026-02-01T00:00:00Z")
        #expect(try t.accept(earn) == 3)
        #expect(try t.accept(r.reverse(earn, 1, "2026-02-02T00:00:00Z")) == 0)  // 9 HPT left: 3 points
        #expect(try t.accept(r.reverse(earn, 1, "2026-02-02T00:00:00Z")) == -1)  // 8 HPT left: 2 points
        #expect(try t.accept(r.reverse(earn, 8, "2026-02-02T00:00:00Z")) == -2)
        #expect(t.balance(alice) == 0)

        try t.accept(r.earn(alice, 30, at: harbor, "2026-02-03T00:00:00Z"))  // 10 points
        let redeem = r.redeem(alice, 11, at: harbor, "2026-02-04T00:00:00Z")
        #expect(try t.accept(redeem) == -4)
        #expect(try t.accept(r.reverse(redeem, 1, "2026-02-05T00:00:00Z")) == 0)  // 10 HPT left: 4 points
        #expect(try t.accept(r.reverse(redeem, 2, "2026-02-05T00:00:00Z")) == 1)  // 8 HPT left: 3 points
        #expect(try t.accept(r.reverse(redeem, nil, "2026-02-05T00:00:00Z")) == 3)
        #expect(t.balance(alice) == 10)
        try t.checkEverything()
    }

    @Test("generated piecewise reversals: each step leaves exactly the rounding of what remains, the pieces add up")
    func generatedPieces() throws {
        var random = SeededGenerator(seed: 0x9A27)
        var t = try TestLedger()
        var r = RecordMaker()
        let partners = [skyways, harbor, marketplace, roadrunner]
        let time = Fixtures.time("2026-02-01T00:00:00Z")
        var gains = 0
        for round in 0..<120 {
            let member = Fixtures.member(100 + round)
            try t.accept(r.enroll(member, at: skyways, "2026-01-10T00:00:00Z"))
            let partner = partners.randomElement(using: &random)!
            let rate = try Fixtures.network.partner(partner).earnRate(at: time)
            let isEarn = random.chance(50)
            let units = Int64.random(in: 1...(random.chance(50) ? 50 : 20_000), using: &random)
            let original: LedgerRecord
            if isEarn {
                original = r.earn(member, units, at: partner, "2026-02-01T00:00:00Z")
            } else {
                try t.accept(r.earn(member, 2_000_000, at: marketplace, "2026-01-20T00:00:00Z"))  // 20,000 points
                original = r.redeem(member, units, at: partner, "2026-02-01T00:00:00Z")
            }
            let change = try t.accept(original)
            var left = units
            var undone: Int64 = 0
            while left > 0 {
                let part = random.chance(20) ? left : Int64.random(in: 1...min(left, 7), using: &random)
                undone += try t.accept(r.reverse(original, part, "2026-02-02T00:00:00Z"))
                left -= part
                // What the member still has of the record, against the documented rounding of
                // the units that remain: down for an earn, up for a redemption.
                let kept = change + undone
                let documented =
                    isEarn
                    ? try rate.apply(to: left, rounding: .down).value
                    : -(try rate.apply(to: left, rounding: .up).value)
                if kept != documented { gains += 1 }
                #expect(kept == documented, "round \(round): \(isEarn ? "earn" : "redeem") of \(units) at \(partner)")
            }
            #expect(undone == -change, "round \(round)")
        }
        #expect(gains == 0)
        try t.checkEverything()
    }
}
