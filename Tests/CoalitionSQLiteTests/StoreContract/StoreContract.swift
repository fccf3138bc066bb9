import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

/// The store contract: what every `LedgerStore` engine must do, written once and run by a
/// suite for each engine (`StoreContractTests.swift`). Reopening, atomic batches whose
/// failure leaves the database as it was, batch summaries, and tamper evidence.
struct StoreContract {
    let engine: StoreEngine

    let skyways = try! PartnerID("SKYWAYS")
    let harbor = try! PartnerID("HARBOR")
    let alice = try! MemberNumber.withCheckDigit(900_000_001)

    func key(_ partner: PartnerID, _ id: String) -> RecordKey { try! RecordKey(partner: partner, recordID: id) }

    /// A new ledger at `place` with the seeded activity applied in varying batches.
    func makeLedger(in place: LedgerPlace, seed: UInt64) throws -> (Ledger, any TestableStore) {
        let store = try place.create()
        let ledger = try Ledger(network: Fixtures.network, store: store)
        for batch in Fixtures.batches(Fixtures.activity(seed: seed), seed: seed) {
            try ledger.apply(batch, info: Fixtures.info)
        }
        return (ledger, store)
    }

    func roundTrip() throws {
        let place = try LedgerPlace(engine)
        defer { place.remove() }
        let records = Fixtures.activity(seed: 11, members: 100, records: 2_000)
        let batches = Fixtures.batches(records, seed: 11)
        let half = batches.count / 2
        var accepted: [LedgerRecord] = []
        var before: StateImage
        do {
            let store = try place.create()
            let ledger = try Ledger(network: Fixtures.network, store: store)
            for batch in batches[..<half] {
                let outcomes = try ledger.apply(batch, info: Fixtures.info)
                accepted += zip(batch, outcomes).filter { $0.1.isAccepted }.map(\.0)
            }
            before = StateImage(ledger.state)
            #expect(ledger.state.lastSeq > 500)
            #expect(ledger.state.members.values.contains { !$0.lots.isEmpty })
            #expect(try !store.obligations(openOnly: true).isEmpty)
        }
        // Every reference is gone, so the connection is closed; a new one loads the same state.
        do {
            let ledger = try Ledger(network: Fixtures.network, store: try place.open())
            #expect(StateImage(ledger.state) == before)
            #expect(try Audit.run(ledger).problems == [])
            for batch in batches[half...] {
                let outcomes = try ledger.apply(batch, info: Fixtures.info)
                accepted += zip(batch, outcomes).filter { $0.1.isAccepted }.map(\.0)
            }
            before = StateImage(ledger.state)
            #expect(try Audit.run(ledger).problems == [])
        }
        let ledger = try Ledger(network: Fixtures.network, store: try place.open())
        #expect(StateImage(ledger.state) == before)
        #expect(ledger.state.records.count == accepted.count)
        let report = try Audit.run(ledger)
        #expect(report.isClean)
        #expect(report.postings == ledger.state.lastSeq)
        #expect(report.headHash == ledger.state.lastHash)
        // Everything applied is a duplicate now; replaying it changes nothing but the batch log.
        let replayed = try ledger.apply(accepted, info: Fixtures.info)
        #expect(
            replayed.allSatisfy { outcome in
                if case .rejected(let error) = outcome { return error.code == .duplicateRecord }
                return false
            }
        )
        let after = StateImage(ledger.state)
        #expect(after.lastBatch == before.lastBatch + 1)
        #expect(after.lastSeq == before.lastSeq)
        #expect(after.members == before.members)
        #expect(after.accounts == before.accounts)
        #expect(after.records == before.records)
    }

    func reopenEveryBatch() throws {
        let place = try LedgerPlace(engine)
        defer { place.remove() }
        let batches = Fixtures.batches(Fixtures.activity(seed: 5, members: 40, records: 600), seed: 5)
        let keptPlace = try place.sibling()
        defer { keptPlace.remove() }
        let kept = try Ledger(network: Fixtures.network, store: try keptPlace.create())
        _ = try place.create()
        for batch in batches {
            let reopened = try Ledger(network: Fixtures.network, store: try place.open())
            #expect(StateImage(reopened.state) == StateImage(kept.state))
            #expect(try reopened.apply(batch, info: Fixtures.info) == kept.apply(batch, info: Fixtures.info))
        }
        let final = try Ledger(network: Fixtures.network, store: try place.open())
        #expect(StateImage(final.state) == StateImage(kept.state))
        #expect(try Audit.run(final).isClean)
    }

    /// Alice earns at Skyways; the batch returned redeems those points at Harbor.
    func crossBrandSetup(_ ledger: Ledger) throws -> [LedgerRecord] {
        let first = try ledger.apply(
            [
                LedgerRecord(
                    key: key(skyways, "E-1"),
                    occurredAt: Fixtures.time("2026-02-01T00:00:00Z"),
                    body: .enroll(member: alice)
                ),
                LedgerRecord(
                    key: key(skyways, "E-2"),
                    occurredAt: Fixtures.time("2026-02-02T00:00:00Z"),
                    body: .earn(member: alice, units: 10_000)
                ),
            ],
            info: Fixtures.info
        )
        #expect(first.allSatisfy { $0.isAccepted })
        return [
            LedgerRecord(
                key: key(harbor, "H-1"),
                occurredAt: Fixtures.time("2026-03-01T00:00:00Z"),
                body: .earn(member: alice, units: 300)
            ),
            LedgerRecord(
                key: key(harbor, "H-2"),
                occurredAt: Fixtures.time("2026-03-02T00:00:00Z"),
                body: .redeem(member: alice, units: 9_000)
            ),
        ]
    }

    func failedCommit() throws {
        let place = try LedgerPlace(engine)
        defer { place.remove() }
        let (ledger, store) = try makeLedger(in: place, seed: 21)
        let batch = try crossBrandSetup(ledger)
        let dump = try store.contentDump()
        let before = StateImage(ledger.state)
        #expect(dump.contains("== obligations\n"))
        try store.executeForTesting(place.failingObligationsSQL.install)
        let error = expectError(.storeFailure) { try ledger.apply(batch, info: Fixtures.info) }
        #expect(error?.message.contains("injected") == true)
        #expect(try store.contentDump() == dump)
        #expect(StateImage(ledger.state) == before)
        // The store is usable after the rollback, and nothing of the failed batch was kept.
        do {
            let reopened = try Ledger(network: Fixtures.network, store: try place.open())
            #expect(StateImage(reopened.state) == before)
        }
        try store.executeForTesting(place.failingObligationsSQL.remove)
        let outcomes = try ledger.apply(batch, info: Fixtures.info)
        #expect(outcomes == [.accepted(points: 100), .accepted(points: -3_000)])
        let obligations = try store.obligations(causedBy: alice)
        #expect(obligations.count == 1)
        #expect(obligations.first?.debtor == skyways)
        #expect(obligations.first?.creditor == harbor)
        #expect(obligations.first?.amount == 3_300)
        #expect(try store.contentDump() != dump)
        #expect(try Audit.run(ledger).isClean)
        let reopened = try Ledger(network: Fixtures.network, store: try place.open())
        #expect(StateImage(reopened.state) == StateImage(ledger.state))
    }

    func batchSummaryAndRejections() throws {
        let place = try LedgerPlace(engine)
        defer { place.remove() }
        let store = try place.create()
        let ledger = try Ledger(network: Fixtures.network, store: store)
        let batch = try crossBrandSetup(ledger)
        try ledger.apply(batch, info: Fixtures.info)
        let partner = batch[0].key.partner
        var info = Fixtures.info
        info.partner = partner
        info.sequence = 7
        let duplicate = batch[0]
        try ledger.batch(info) { session in
            let outcomes = try session.apply([duplicate], lines: [12])
            #expect(!outcomes[0].isAccepted)
            session.summary.fileSignature = "abc"
        }
        let summary = try #require(try store.batch(partner: partner, sequence: 7))
        #expect(summary.records == 1)
        #expect(summary.rejected == 1)
        #expect(summary.fileSignature == "abc")
        let rejections = try store.rejections(batch: summary.id)
        #expect(rejections.map(\.line) == [12])
        #expect(rejections.map(\.code) == [.duplicateRecord])
        #expect(try store.lastSequence(partner: partner) == 7)
        #expect(try store.batch(partner: partner, sequence: 8) == nil)
    }

    /// A ledger with activity, closed; `tamper` runs raw SQL on it; the reopened ledger's audit.
    func auditAfter(_ tamper: (any TestableStore, Ledger) throws -> Void) throws -> AuditReport {
        let place = try LedgerPlace(engine)
        defer { place.remove() }
        do {
            let (ledger, store) = try makeLedger(in: place, seed: 31)
            #expect(try Audit.run(ledger).isClean)
            try tamper(store, ledger)
        }
        let ledger = try Ledger(network: Fixtures.network, store: try place.open())
        return try Audit.run(ledger)
    }

    func tamperedPoints() throws {
        let report = try auditAfter { store, _ in
            try store.executeForTesting("UPDATE postings SET points = points + 1 WHERE seq = 150")
        }
        #expect(!report.isClean)
        #expect(report.problems.contains { $0.hasPrefix("posting 150 does not match the hash chain") })
        #expect(report.problems.count == 1)
    }

    func tamperedLegs() throws {
        var seq: Int64 = 0
        let report = try auditAfter { store, ledger in
            var target: Posting?
            try store.forEachPosting { posting in
                if target == nil && posting.kind == .earn && posting.seq > 100 { target = posting }
            }
            let posting = try #require(target)
            seq = posting.seq
            let legs = Posting.encode(posting.legs)
            let member = try #require(posting.legs.first { $0.account.hasPrefix("member:") })
            let changed = legs.replacingOccurrences(
                of: "\(member.account) PTS \(member.amount)",
                with: "\(member.account) PTS \(member.amount + 1)"
            )
            #expect(changed != legs)
            try store.executeForTesting("UPDATE postings SET legs = '\(changed)' WHERE seq = \(posting.seq)")
        }
        #expect(report.problems.contains { $0.hasPrefix("posting \(seq) does not match the hash chain") })
        #expect(report.problems.contains { $0.hasPrefix("posting \(seq) does not balance in PTS") })
        #expect(report.problems.contains { $0.contains("holds") && $0.contains("the journal adds up to") })
    }

    func deletedPosting() throws {
        let report = try auditAfter { store, _ in
            try store.executeForTesting("DELETE FROM postings WHERE seq = 77")
        }
        #expect(report.problems.contains { $0.hasPrefix("posting 77 is missing") })
    }

    func tamperedBalances() throws {
        let account = try auditAfter { store, _ in
            try store.executeForTesting("UPDATE accounts SET balance = balance - 7 WHERE account = 'issuer:HARBOR'")
        }
        #expect(account.problems.contains { $0.hasPrefix("issuer:HARBOR holds") })
        let lot = try auditAfter { store, _ in
            try store.executeForTesting("UPDATE lots SET points = points + 5 WHERE id = (SELECT max(id) FROM lots)")
        }
        #expect(lot.problems.contains { $0.hasPrefix("member ") && $0.contains("the journal adds up to") })
    }
}
