import CoalitionKit
import CoalitionSQLite
import Foundation
import Testing

@Suite("SQLiteStore: durable state, atomic batches, tamper evidence, refusals")
struct SQLiteStoreTests {
    let skyways = try! PartnerID("SKYWAYS")
    let harbor = try! PartnerID("HARBOR")
    let alice = try! MemberNumber.withCheckDigit(900_000_001)

    func key(_ partner: PartnerID, _ id: String) -> RecordKey { try! RecordKey(partner: partner, recordID: id) }

    /// A new ledger in `directory` with the seeded activity applied in varying batches.
    func makeLedger(in directory: TemporaryDirectory, seed: UInt64) throws -> (Ledger, SQLiteStore) {
        let store = try SQLiteStore(path: directory.ledgerPath, create: true)
        let ledger = try Ledger(network: Fixtures.network, store: store)
        for batch in Fixtures.batches(Fixtures.activity(seed: seed), seed: seed) {
            try ledger.apply(batch, info: Fixtures.info)
        }
        return (ledger, store)
    }

    @Test("a reopened ledger loads exactly the state it had, and goes on")
    func roundTrip() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let records = Fixtures.activity(seed: 11, members: 100, records: 2_000)
        let batches = Fixtures.batches(records, seed: 11)
        let half = batches.count / 2
        var accepted: [LedgerRecord] = []
        var before: StateImage
        do {
            let store = try SQLiteStore(path: directory.ledgerPath, create: true)
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
            let ledger = try Ledger(network: Fixtures.network, store: try SQLiteStore(path: directory.ledgerPath))
            #expect(StateImage(ledger.state) == before)
            #expect(try Audit.run(ledger).problems == [])
            for batch in batches[half...] {
                let outcomes = try ledger.apply(batch, info: Fixtures.info)
                accepted += zip(batch, outcomes).filter { $0.1.isAccepted }.map(\.0)
            }
            before = StateImage(ledger.state)
            #expect(try Audit.run(ledger).problems == [])
        }
        let ledger = try Ledger(network: Fixtures.network, store: try SQLiteStore(path: directory.ledgerPath))
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

    @Test("reopening before every batch gives the same outcomes and state as keeping the ledger open")
    func reopenEveryBatch() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let batches = Fixtures.batches(Fixtures.activity(seed: 5, members: 40, records: 600), seed: 5)
        let kept = try Ledger(
            network: Fixtures.network,
            store: try SQLiteStore(path: directory.file("kept.sqlite"), create: true)
        )
        _ = try SQLiteStore(path: directory.ledgerPath, create: true)
        for batch in batches {
            let reopened = try Ledger(network: Fixtures.network, store: try SQLiteStore(path: directory.ledgerPath))
            #expect(StateImage(reopened.state) == StateImage(kept.state))
            #expect(try reopened.apply(batch, info: Fixtures.info) == kept.apply(batch, info: Fixtures.info))
        }
        let final = try Ledger(network: Fixtures.network, store: try SQLiteStore(path: directory.ledgerPath))
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

    @Test("a batch whose commit fails leaves the database byte for byte as it was")
    func failedCommit() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (ledger, store) = try makeLedger(in: directory, seed: 21)
        let batch = try crossBrandSetup(ledger)
        let dump = try store.contentDump()
        let before = StateImage(ledger.state)
        #expect(dump.contains("== obligations\n"))
        try store.executeForTesting(
            "CREATE TRIGGER fail BEFORE INSERT ON obligations BEGIN SELECT RAISE(ABORT, 'injected'); END"
        )
        let error = expectError(.storeFailure) { try ledger.apply(batch, info: Fixtures.info) }
        #expect(error?.message.contains("injected") == true)
        #expect(try store.contentDump() == dump)
        #expect(StateImage(ledger.state) == before)
        // The store is usable after the rollback, and nothing of the failed batch was kept.
        do {
            let reopened = try Ledger(network: Fixtures.network, store: try SQLiteStore(path: directory.ledgerPath))
            #expect(StateImage(reopened.state) == before)
        }
        try store.executeForTesting("DROP TRIGGER fail")
        let outcomes = try ledger.apply(batch, info: Fixtures.info)
        #expect(outcomes == [.accepted(points: 100), .accepted(points: -3_000)])
        let obligations = try store.obligations(causedBy: alice)
        #expect(obligations.count == 1)
        #expect(obligations.first?.debtor == skyways)
        #expect(obligations.first?.creditor == harbor)
        #expect(obligations.first?.amount == 3_300)
        #expect(try store.contentDump() != dump)
        #expect(try Audit.run(ledger).isClean)
        let reopened = try Ledger(network: Fixtures.network, store: try SQLiteStore(path: directory.ledgerPath))
        #expect(StateImage(reopened.state) == StateImage(ledger.state))
    }

    @Test("a batch keeps its summary and its rejections, found by partner and sequence")
    func batchSummaryAndRejections() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try SQLiteStore(path: directory.ledgerPath, create: true)
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
    func auditAfter(_ tamper: (SQLiteStore, Ledger) throws -> Void) throws -> AuditReport {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        do {
            let (ledger, store) = try makeLedger(in: directory, seed: 31)
            #expect(try Audit.run(ledger).isClean)
            try tamper(store, ledger)
        }
        let ledger = try Ledger(network: Fixtures.network, store: try SQLiteStore(path: directory.ledgerPath))
        return try Audit.run(ledger)
    }

    @Test("a posting's points changed behind the store's back: audit names it")
    func tamperedPoints() throws {
        let report = try auditAfter { store, _ in
            try store.executeForTesting("UPDATE postings SET points = points + 1 WHERE seq = 150")
        }
        #expect(!report.isClean)
        #expect(report.problems.contains { $0.hasPrefix("posting 150 does not match the hash chain") })
        #expect(report.problems.count == 1)
    }

    @Test("a posting's legs changed: audit names it, and the balances no longer add up")
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

    @Test("a deleted posting is reported missing")
    func deletedPosting() throws {
        let report = try auditAfter { store, _ in
            try store.executeForTesting("DELETE FROM postings WHERE seq = 77")
        }
        #expect(report.problems.contains { $0.hasPrefix("posting 77 is missing") })
    }

    @Test("a balance or a lot changed behind the journal's back is reported")
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

    @Test("opening where there is no ledger is NO_LEDGER, and creates nothing")
    func noLedger() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let error = expectError(.noLedger) { try SQLiteStore(path: directory.ledgerPath) }
        #expect(error?.place.file == directory.ledgerPath)
        #expect(directory.listing == [])
    }

    @Test("a SQLite file of another application is NOT_A_LEDGER and left untouched")
    func notALedger() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("other.db")
        try RawSQLite.execute(
            "PRAGMA application_id = 1234; CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('mine')",
            at: path
        )
        let bytes = try #require(contents(path))
        let listing = directory.listing
        let error = expectError(.notALedger) { try SQLiteStore(path: path) }
        #expect(error?.place.file == path)
        #expect(contents(path) == bytes)
        #expect(directory.listing == listing)
        // Nor does creating a ledger there overwrite it.
        expectError(.ledgerExists) { try SQLiteStore(path: path, create: true) }
        #expect(contents(path) == bytes)
    }

    @Test("an empty file or one that is not SQLite at all is NOT_A_LEDGER and left untouched")
    func notSQLite() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for (name, text) in [
            ("empty.db", ""), ("text.db", "name,points\nalice,100\n" + String(repeating: "x", count: 600)),
        ] {
            let path = directory.file(name)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            let listing = directory.listing
            expectError(.notALedger) { try SQLiteStore(path: path) }
            #expect(contents(path) == Data(text.utf8))
            #expect(directory.listing == listing)
        }
    }

    @Test("a ledger from a newer schema is NEWER_SCHEMA and left untouched")
    func newerSchema() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        do { _ = try makeLedger(in: directory, seed: 41) }
        try RawSQLite.execute("PRAGMA user_version = 99", at: directory.ledgerPath)
        let bytes = try #require(contents(directory.ledgerPath))
        let listing = directory.listing
        let error = expectError(.newerSchema) { try SQLiteStore(path: directory.ledgerPath) }
        #expect(error?.message.contains("99") == true)
        #expect(contents(directory.ledgerPath) == bytes)
        #expect(directory.listing == listing)
        // The version it knows opens as ever.
        try RawSQLite.execute("PRAGMA user_version = 2", at: directory.ledgerPath)
        let ledger = try Ledger(network: Fixtures.network, store: try SQLiteStore(path: directory.ledgerPath))
        #expect(try Audit.run(ledger).isClean)
    }

    @Test("a version-1 ledger, its reversed units in the postings table, opens migrated as a new one would be")
    func migratesReversedUnits() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (ledger, store) = try makeLedger(in: directory, seed: 43)
        let image = StateImage(ledger.state)
        let dump = try store.contentDump()
        let section = try #require(dump.components(separatedBy: "== reversed\n").dropFirst().first)
        let reversed = section.split(separator: "\n").prefix { !$0.hasPrefix("== ") }.count
        #expect(reversed > 5)  // records reversed in part or whole
        // Back to version 1: the units in the postings table, no table of their own.
        try RawSQLite.execute(
            """
            UPDATE postings SET reversed_units = (SELECT units FROM reversed WHERE reversed.seq = postings.seq)
            WHERE seq IN (SELECT seq FROM reversed);
            DROP TABLE reversed;
            PRAGMA user_version = 1;
            """,
            at: directory.ledgerPath
        )
        let migrated = try SQLiteStore(path: directory.ledgerPath)
        #expect(try migrated.contentDump() == dump)
        let reopened = try Ledger(network: Fixtures.network, store: migrated)
        #expect(StateImage(reopened.state) == image)
        #expect(try Audit.run(reopened).isClean)
    }

    /// The page size in a SQLite file's header: big-endian at offset 16, 1 meaning 65,536.
    func pageSize(_ path: String) throws -> Int {
        let header = try #require(contents(path)?.prefix(18))
        let size = Int(header[16]) << 8 | Int(header[17])
        return size == 1 ? 65_536 : size
    }

    @Test("a new ledger has 16 KiB pages; one made with 4 KiB pages keeps them and ends as a new one does")
    func pageSizes() throws {
        let batches = Fixtures.batches(Fixtures.activity(seed: 45, members: 80, records: 1_500), seed: 45)
        let half = batches.count / 2
        let fresh = try TemporaryDirectory()
        defer { fresh.remove() }
        let dump: String
        do {
            let store = try SQLiteStore(path: fresh.ledgerPath, create: true)
            let ledger = try Ledger(network: Fixtures.network, store: store)
            for batch in batches { try ledger.apply(batch, info: Fixtures.info) }
            dump = try store.contentDump()
        }
        #expect(try pageSize(fresh.ledgerPath) == 16_384)

        let old = try TemporaryDirectory()
        defer { old.remove() }
        do {
            let ledger = try Ledger(
                network: Fixtures.network,
                store: try SQLiteStore(path: old.ledgerPath, create: true)
            )
            for batch in batches[..<half] { try ledger.apply(batch, info: Fixtures.info) }
        }
        // As SQLite's default made it: a page size changes only by rewriting the file.
        try RawSQLite.execute(
            "PRAGMA journal_mode = DELETE; PRAGMA page_size = 4096; VACUUM; PRAGMA journal_mode = WAL",
            at: old.ledgerPath
        )
        #expect(try pageSize(old.ledgerPath) == 4_096)
        do {
            let store = try SQLiteStore(path: old.ledgerPath)
            let ledger = try Ledger(network: Fixtures.network, store: store)
            for batch in batches[half...] { try ledger.apply(batch, info: Fixtures.info) }
            #expect(try store.contentDump() == dump)
            #expect(try Audit.run(ledger).isClean)
        }
        #expect(try pageSize(old.ledgerPath) == 4_096)
    }

    @Test("creating a ledger where one exists is LEDGER_EXISTS, and the ledger is untouched")
    func ledgerExists() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (ledger, store) = try makeLedger(in: directory, seed: 51)
        let dump = try store.contentDump()
        expectError(.ledgerExists) { try SQLiteStore(path: directory.ledgerPath, create: true) }
        #expect(try store.contentDump() == dump)
        #expect(try Audit.run(ledger).isClean)
    }

    @Test("SQLite keeps no memory statistics, so no global mutex is taken for each allocation")
    func noMemoryStatistics() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (ledger, _) = try makeLedger(in: directory, seed: 3)
        #expect(ledger.state.lastSeq > 100)
        #expect(RawSQLite.memoryUsed == 0)
    }
}
