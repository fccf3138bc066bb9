import CoalitionGeneration
import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

@Suite("Referrals: codes, links, the bonus and its clawback")
struct ReferralTests {
    let skyways = Fixtures.skyways
    let harbor = Fixtures.harbor
    let alice = Fixtures.member(1)
    let bob = Fixtures.member(2)
    let carol = Fixtures.member(3)

    func withNetwork<T>(
        perYear: Int = 3,
        clawbackDays: Int = 60,
        lifetimeDays: Int = 540,
        _ body: (Network) throws -> T
    ) throws -> T {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        return try body(
            try ReferralNetwork.make(
                in: directory,
                perYear: perYear,
                clawbackDays: clawbackDays,
                lifetimeDays: lifetimeDays
            )
        )
    }

    @Test("a code reads back to its member, is not the number, and a mistyped one fails its check")
    func codes() throws {
        try withNetwork { network in
            let programme = try #require(network.referrals)
            var seen = Set<String>()
            for index in 0..<200 {
                let number = Fixtures.member(index)
                let code = try programme.code(for: number)
                let text = code.description
                #expect(!text.replacingOccurrences(of: "-", with: "").contains(String(number.value)))
                #expect(seen.insert(text).inserted)
                #expect(try programme.member(of: try ReferralCode(text)) == number)
                // Lower case, no hyphens and O for 0 read the same.
                let typed = text.lowercased().replacingOccurrences(of: "-", with: "").replacingOccurrences(
                    of: "0",
                    with: "o"
                )
                #expect(try ReferralCode(typed) == code)
                // One symbol changed: the check symbol catches it.
                var symbols = Array(text.replacingOccurrences(of: "-", with: ""))
                let position = index % 16
                symbols[position] = symbols[position] == "7" ? "8" : "7"
                expectError(.badReferralCode) { try ReferralCode(String(symbols)) }
            }
            expectError(.badReferralCode) { try ReferralCode("ABC") }
            expectError(.badReferralCode) { try ReferralCode("ABCD-EFGH-JKMN-PQRS-TU") }
        }
    }

    @Test("a made-up code with a valid check symbol names no member")
    func madeUpCodes() throws {
        try withNetwork { network in
            let programme = try #require(network.referrals)
            var random = SeededGenerator(seed: 22)
            let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
            var unknown = 0
            for _ in 0..<300 {
                let body = String((0..<16).map { _ in alphabet[Int.random(in: 0..<32, using: &random)] })
                // Try each check symbol: exactly one is valid.
                let codes = alphabet.compactMap { try? ReferralCode(body + String($0)) }
                #expect(codes.count == 1)
                if let code = codes.first, (try? programme.member(of: code)) == nil { unknown += 1 }
            }
            #expect(unknown == 300)
        }
    }

    @Test("the code of the test vector in docs/settlement-format.md")
    func testVector() throws {
        try withNetwork { network in
            let code = try #require(network.referrals).code(for: try MemberNumber("6001000000150"))
            let page = try String(contentsOfFile: Fixtures.packageRoot + "/docs/settlement-format.md", encoding: .utf8)
            #expect(page.contains("`6001000000150` → `\(code)`"), "the page's vector is not \(code)")
            // The example line reads back with its code, and is written back byte for byte.
            let marker = try #require(page.range(of: "<!-- example-referral-enroll -->\n```\n"))
            let line = String(page[marker.upperBound...].prefix { $0 != "\n" })
            let record = try LedgerRecord.parse(line: line, partner: skyways).get()
            #expect(record.body == .enroll(member: try MemberNumber("6001000000176"), referralCode: code))
            #expect(SettlementFile.line(for: record, reference: "web signup") == line)
            // Without the sixth field, or with it empty, an ENROLL has no code.
            let plain = LedgerRecord.parse(line: "ENROLL|S-1|6001000000176|2026-11-21T08:00:00Z|", partner: skyways)
            #expect(try plain.get().body == .enroll(member: try MemberNumber("6001000000176")))
            let empty = LedgerRecord.parse(
                line: "ENROLL|S-1|6001000000176|2026-11-21T08:00:00Z||",
                partner: skyways
            )
            #expect(try empty.get().body == .enroll(member: try MemberNumber("6001000000176")))
            let bad = LedgerRecord.parse(
                line: "ENROLL|S-1|6001000000176|2026-11-21T08:00:00Z||EBY0-Z92Q",
                partner: skyways
            )
            #expect(throws: CoalitionError.self) { try bad.get() }
        }
    }

    @Test("enrolment with a code links once; self-referral, unknown codes, a second link and the limit are refused")
    func links() throws {
        try withNetwork(perYear: 2) { network in
            var t = try TestLedger(network: network)
            var r = RecordMaker()
            let programme = try #require(network.referrals)
            try t.accept(r.enroll(alice, at: skyways, "2026-01-05T10:00:00Z"))
            let aliceCode = try programme.code(for: alice)
            try t.accept(r.enroll(bob, at: harbor, "2026-01-06T10:00:00Z", code: aliceCode))
            #expect(t.ledger.state.referrals.links[bob]?.referrer == alice)
            #expect(t.ledger.state.referrals.links[bob]?.partner == harbor)
            // Self-referral: the code of the member being enrolled.
            try t.reject(
                r.enroll(carol, at: skyways, "2026-01-07T10:00:00Z", code: programme.code(for: carol)),
                .selfReferral
            )
            // A code of a member who is not enrolled.
            try t.reject(
                r.enroll(carol, at: skyways, "2026-01-07T10:00:00Z", code: programme.code(for: Fixtures.member(99))),
                .unknownReferralCode
            )
            // Bob again, with another code: linked already.
            try t.accept(r.enroll(carol, at: skyways, "2026-01-07T11:00:00Z"))
            try t.reject(
                r.enroll(bob, at: skyways, "2026-01-08T10:00:00Z", code: programme.code(for: carol)),
                .alreadyReferred
            )
            #expect(t.ledger.state.referrals.links[bob]?.referrer == alice)
            // Carol without a link: enrolling her again is MEMBER_EXISTS, with or without a code.
            try t.reject(r.enroll(carol, at: skyways, "2026-01-08T10:00:00Z", code: aliceCode), .memberExists)
            // Alice's second referral is within the limit of 2 a year, her third is not.
            try t.accept(r.enroll(Fixtures.member(4), at: skyways, "2026-02-01T10:00:00Z", code: aliceCode))
            try t.reject(
                r.enroll(Fixtures.member(5), at: skyways, "2026-03-01T10:00:00Z", code: aliceCode),
                .referralLimit
            )
            // A year after her first, there is room again.
            try t.accept(r.enroll(Fixtures.member(5), at: skyways, "2027-01-07T10:00:00Z", code: aliceCode))
            try t.checkEverything()
        }
    }

    @Test("a network without a referral programme refuses a code, and its records are as before")
    func notOffered() throws {
        var t = try TestLedger()
        var r = RecordMaker()
        try t.accept(r.enroll(alice, at: skyways, "2026-01-05T10:00:00Z"))
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let code = try #require(try ReferralNetwork.make(in: directory).referrals).code(for: alice)
        try t.reject(r.enroll(bob, at: skyways, "2026-01-06T10:00:00Z", code: code), .referralsNotOffered)
        try t.accept(r.earn(alice, 1_000, at: skyways, "2026-01-07T10:00:00Z"))
        #expect(t.lots(alice).allSatisfy { !$0.isBonus })
        #expect(t.ledger.state.referrals.isEmpty)
    }

    @Test("the bonus waits for the first qualifying earn, is paid once, by the earning partner")
    func partnerFundedBonus() throws {
        try withNetwork { network in
            var t = try TestLedger(network: network)
            var r = RecordMaker()
            let code = try #require(network.referrals).code(for: alice)
            try t.accept(r.enroll(alice, at: skyways, "2026-01-05T10:00:00Z"))
            #expect(try t.accept(r.enroll(bob, at: harbor, "2026-01-06T10:00:00Z", code: code)) == 0)
            #expect(t.balance(alice) == 0 && t.balance(bob) == 0)
            // 150 miles: 75 points, under the 100 that qualify.
            #expect(try t.accept(r.earn(bob, 150, at: skyways, "2026-01-07T10:00:00Z")) == 75)
            #expect(t.ledger.state.referrals.links[bob]?.isPending == true)
            // 300 HPT at 1/3: 100 points, qualifying; HARBOR funds 250 + 500.
            let liability = t.issuerLiability(harbor)
            #expect(try t.accept(r.earn(bob, 300, at: harbor, "2026-01-08T10:00:00Z")) == 100 + 250)
            #expect(t.issuerLiability(harbor) == liability + 100 + 250 + 500)
            #expect(t.balance(alice) == 500)
            #expect(t.lots(alice).map(\.issuer) == [harbor])
            #expect(t.lots(alice).allSatisfy { $0.isBonus })
            #expect(t.lots(bob).filter(\.isBonus).map(\.points) == [250])
            #expect(t.ledger.state.referrals.links[bob]?.isPending == false)
            // The next qualifying earn pays nothing more.
            #expect(try t.accept(r.earn(bob, 300, at: harbor, "2026-01-09T10:00:00Z")) == 100)
            #expect(t.balance(alice) == 500)
            try t.checkEverything()

            let statement = try MemberStatement(
                ledger: t.ledger,
                member: bob,
                from: Fixtures.time("2026-01-01T00:00:00Z"),
                to: Fixtures.time("2026-02-01T00:00:00Z")
            )
            #expect(
                statement.lines.contains { $0.description.contains("referral bonus 250 (referred by member \(alice))") }
            )
            #expect(
                statement.lines.contains {
                    $0.description.contains("referred by member \(alice)") && $0.kind == "enroll"
                }
            )
            let referrer = try MemberStatement(
                ledger: t.ledger,
                member: alice,
                from: Fixtures.time("2026-01-01T00:00:00Z"),
                to: Fixtures.time("2026-02-01T00:00:00Z")
            )
            let line = try #require(referrer.lines.first { $0.kind == "referral bonus" })
            #expect(line.points == 500 && line.description == "for referring member \(bob)")
            #expect(referrer.closing == 500)
        }
    }

    @Test("coalition-funded bonus points clear: redeemed at a partner, the coalition owes it, as the clearing house")
    func coalitionFundedBonusClears() throws {
        try withNetwork { network in
            var t = try TestLedger(network: network)
            var r = RecordMaker()
            let code = try #require(network.referrals).code(for: alice)
            try t.accept(r.enroll(alice, at: skyways, "2026-03-02T10:00:00Z"))
            try t.accept(r.enroll(bob, at: skyways, "2026-03-02T11:00:00Z", code: code))
            // 200 miles: 100 points; the terms from 2026-03-01: 1,000 and 400, by the coalition.
            #expect(try t.accept(r.earn(bob, 200, at: skyways, "2026-03-03T10:00:00Z")) == 100 + 400)
            #expect(t.issuerLiability(.coalition) == 1_400)
            #expect(t.lots(alice).map(\.issuer) == [.coalition])
            // Alice spends 900 of her 1,000 coalition points at HARBOR (2,700 HPT at 1/3).
            try t.accept(r.redeem(alice, 2_700, at: harbor, "2026-03-04T10:00:00Z"))
            #expect(t.issuerLiability(.coalition) == 500)
            // 900 points at HARBOR's 0.011 EUR: the coalition owes HARBOR 9.90 EUR.
            #expect(try t.owed(.coalition, harbor) == 990)
            try t.checkEverything()

            let open = try t.store.obligations(openOnly: true)
            let clearing = try #require(try Netting.clear(open, feeBasisPoints: 10).first { $0.currency.code == "EUR" })
            #expect(clearing.net.values.reduce(0, +) == 0)
            // The coalition is the clearing house: it pays HARBOR what it owes, less HARBOR's fee.
            #expect(clearing.net[.clearingHouse] == -990 + clearing.fees.values.reduce(0, +))
            #expect(clearing.net[.partner(harbor)] == 990 - (clearing.fees[harbor] ?? 0))
            #expect(clearing.net.keys.allSatisfy { $0.description != "COALITION" || $0 == .clearingHouse })

            let closed = try CycleCloser.close(
                t.ledger,
                through: Fixtures.time("2026-03-05T00:00:00Z"),
                now: Fixtures.time("2026-03-05T00:00:01Z")
            )
            _ = closed
            try t.checkEverything()
            #expect(try t.store.obligations(openOnly: true).isEmpty)
        }
    }

    @Test("a full reversal of the qualifying earn in time takes back what the bonus lots still hold, never more")
    func clawback() throws {
        try withNetwork { network in
            var t = try TestLedger(network: network)
            var r = RecordMaker()
            let code = try #require(network.referrals).code(for: alice)
            try t.accept(r.enroll(alice, at: skyways, "2026-01-05T10:00:00Z"))
            try t.accept(r.enroll(bob, at: skyways, "2026-01-06T10:00:00Z", code: code))
            let earn = r.earn(bob, 400, at: skyways, "2026-01-07T10:00:00Z")
            #expect(try t.accept(earn) == 200 + 250)
            // Alice spends 300 of her 500 bonus points.
            try t.accept(r.redeem(alice, 600, at: skyways, "2026-01-08T10:00:00Z"))
            #expect(t.balance(alice) == 200)
            // A partial reversal takes no bonus back.
            #expect(try t.accept(r.reverse(earn, 100, "2026-01-09T10:00:00Z")) == -50)
            #expect(t.balance(alice) == 200 && t.lots(bob).contains(where: \.isBonus))
            // The rest, in the window: Bob's 250 and what Alice still holds (200) come back.
            #expect(try t.accept(r.reverse(earn, nil, "2026-01-10T10:00:00Z")) == -150 - 250)
            #expect(t.balance(alice) == 0 && t.debts(alice).isEmpty)
            #expect(t.balance(bob) == 0 && t.debts(bob).isEmpty)
            #expect(t.ledger.state.referrals.links[bob]?.isReversed == true)
            // Never paid again.
            try t.accept(r.earn(bob, 400, at: skyways, "2026-01-11T10:00:00Z"))
            #expect(t.balance(alice) == 0 && t.balance(bob) == 200)
            try t.checkEverything()
            let report = try ReferralReport(ledger: t.ledger)
            let line = try #require(report.lines.first { $0.issuer == skyways && $0.month == "2026-01" })
            #expect(line.referrals == 1 && line.bonusesPaid == 1 && line.pointsPaid == 750)
            #expect(line.pointsTakenBack == 450 && line.netPoints == 300)
        }
    }

    @Test("a reversal after the clawback window leaves the bonus standing")
    func clawbackWindow() throws {
        try withNetwork(clawbackDays: 10) { network in
            var t = try TestLedger(network: network)
            var r = RecordMaker()
            let code = try #require(network.referrals).code(for: alice)
            try t.accept(r.enroll(alice, at: skyways, "2026-01-05T10:00:00Z"))
            try t.accept(r.enroll(bob, at: skyways, "2026-01-06T10:00:00Z", code: code))
            let earn = r.earn(bob, 400, at: skyways, "2026-01-07T10:00:00Z")
            try t.accept(earn)
            #expect(try t.accept(r.reverse(earn, nil, "2026-01-18T10:00:00Z")) == -200)
            #expect(t.balance(alice) == 500 && t.balance(bob) == 250)
            try t.checkEverything()
        }
    }

    @Test(
        "generated activity with referrals: bonus points are conserved and clear like others; the state reloads",
        arguments: [UInt64(1), 2, 3]
    )
    func generated(seed: UInt64) throws {
        try withNetwork(perYear: 4, lifetimeDays: 45) { network in
            var t = try TestLedger(network: network)
            let activity = ActivityGenerator.generate(
                network: network,
                plan: ActivityGenerator.Plan(
                    members: 150,
                    records: 4_000,
                    start: Fixtures.time("2026-02-20T00:00:00Z"),
                    days: 60,
                    seed: seed
                )
            )
            #expect(activity.enrollments.contains { if case .enroll(_, .some) = $0.body { true } else { false } })
            let outcomes = try t.apply(activity.enrollments)
            #expect(outcomes.filter(\.isAccepted).count > 100)
            for chunk in stride(from: 0, to: activity.activity.count, by: 500) {
                try t.apply(Array(activity.activity[chunk..<min(chunk + 500, activity.activity.count)]))
            }
            let links = t.ledger.state.referrals.links.values
            #expect(links.count > 10)
            #expect(links.contains { $0.bonusSeq != nil })
            // Every bonus lot's points are its issuer's liability: with the invariants, the
            // coalition's liability is exactly the coalition lots members hold.
            let coalitionLots = t.ledger.state.members.values.flatMap(\.lots).filter { $0.issuer == .coalition }
            #expect(t.ledger.outstanding(.coalition) == coalitionLots.reduce(0) { $0 + $1.points })
            #expect(coalitionLots.allSatisfy { $0.isBonus })
            // Paid = held + spent + taken back, per issuer: the journal adds up.
            var paid: Int64 = 0
            var back: Int64 = 0
            for posting in t.store.content.postings {
                let detail = PostingDetail(posting.detail)
                if let bonus = detail.referralBonus, bonus.issuer == .coalition {
                    paid += bonus.referredPoints + bonus.referrerPoints
                }
                if let taken = detail.referralBack, taken.issuer == .coalition {
                    back += taken.referred + taken.referrer
                }
            }
            let redeemed = try t.obligations().filter { $0.debtor == .coalition }.reduce(0) { $0 + $1.points }
            #expect(paid - back == t.ledger.outstanding(.coalition) + redeemed)
            #expect(redeemed > 0, "coalition points were redeemed at partners")
            try t.checkEverything(strict: false)
            _ = try t.ledger.expire(
                asOf: Fixtures.time("2026-06-01T00:00:00Z"),
                now: Fixtures.time("2026-06-01T00:00:00Z")
            )
            _ = try CycleCloser.close(
                t.ledger,
                through: Fixtures.time("2026-05-01T00:00:00Z"),
                now: Fixtures.time("2026-06-01T00:00:00Z")
            )
            try t.checkEverything(strict: false)
            let reloaded = try Ledger(network: network, store: t.store)
            #expect(StateImage(reloaded.state) == StateImage(t.ledger.state))
        }
    }
}
