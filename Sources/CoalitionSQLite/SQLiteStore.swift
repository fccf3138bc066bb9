import CoalitionKit
import Foundation

/// The embedded ledger store: one SQLite file in WAL mode with `synchronous=FULL`, so a
/// committed batch survives power loss. The schema is versioned with `PRAGMA user_version`
/// and marked with `PRAGMA application_id`, so a file that is not a Coalition ledger, or one
/// from a newer Coalition, is refused untouched.
public final class SQLiteStore: LedgerStore {
    let database: Database

    /// `Coal` in ASCII.
    static let applicationID: Int64 = 0x436F_616C

    /// Opens the ledger at `path`. With `create`, makes a new one (the file must not exist).
    public init(path: String, create: Bool = false) throws {
        let exists = FileManager.default.fileExists(atPath: path)
        if create && exists {
            throw CoalitionError(.ledgerExists, "a ledger already exists here", at: Place(file: path))
        }
        if !create && !exists {
            throw CoalitionError(.noLedger, "no ledger here: run `coalition init` first", at: Place(file: path))
        }
        database = try Database(path: path, create: create)
        if create {
            try database.execute("PRAGMA application_id = \(SQLiteStore.applicationID)")
        } else {
            let id: Int64?
            do {
                id = try database.integer("PRAGMA application_id")
            } catch {
                // Not SQLite at all: no more a ledger than another application's database.
                guard database.lastErrorIsNotADatabase else { throw error }
                id = nil
            }
            guard id == SQLiteStore.applicationID else {
                throw CoalitionError(
                    .notALedger,
                    "this file is not a Coalition ledger; it was left untouched",
                    at: Place(file: path)
                )
            }
            let version = try database.integer("PRAGMA user_version") ?? 0
            guard version <= Int64(Schema.migrations.count) else {
                throw CoalitionError(
                    .newerSchema,
                    "this ledger has schema version \(version), newer than this coalition (\(Schema.migrations.count)); "
                        + "it was left untouched: use a newer coalition",
                    at: Place(file: path)
                )
            }
        }
        try database.execute("PRAGMA journal_mode = WAL")
        try database.execute("PRAGMA synchronous = FULL")
        try database.execute("PRAGMA foreign_keys = ON")
        try Schema.migrate(database)
    }

    public var path: String { database.path }

    // MARK: Loading

    public func load() throws -> LedgerSnapshot {
        var snapshot = LedgerSnapshot()
        let members = try database.statement("SELECT number, enrolled_at, enrolled_by, closed FROM members")
        while try members.step() {
            let number = try MemberNumber(String(members.int64(0)))
            snapshot.members[number] = MemberAccount(
                number: number,
                enrolledAt: Timestamp(seconds: members.int64(1)),
                enrolledBy: try members.optionalString(2).map(PartnerID.init),
                isClosed: members.int64(3) != 0
            )
        }
        var lotsByMember: [MemberNumber: [Lot]] = [:]
        let lots = try database.statement(
            "SELECT id, member, issuer, points, earned_at, expires_at, bonus FROM lots"
        )
        var issuers: [String: PartnerID] = [:]
        while try lots.step() {
            let issuerText = lots.string(2)
            let issuer = try issuers[issuerText] ?? PartnerID(issuerText)
            issuers[issuerText] = issuer
            let lot = Lot(
                id: lots.int64(0),
                member: try MemberNumber(String(lots.int64(1))),
                issuer: issuer,
                points: lots.int64(3),
                earnedAt: Timestamp(seconds: lots.int64(4)),
                expiresAt: Timestamp(seconds: lots.int64(5)),
                isBonus: lots.int64(6) != 0
            )
            lotsByMember[lot.member, default: []].append(lot)
        }
        for (number, memberLots) in lotsByMember {
            guard snapshot.members[number] != nil else {
                throw CoalitionError(.storeFailure, "lots of member \(number), who is not enrolled")
            }
            snapshot.members[number]!.restore(lots: memberLots)
        }
        let accounts = try database.statement("SELECT account, unit, balance FROM accounts")
        while try accounts.step() {
            snapshot.accounts[AccountKey(accounts.string(0), accounts.string(1))] = accounts.int64(2)
        }
        let records = try database.statement(
            "SELECT partner, record_id, seq, kind, units, reversed_units FROM postings WHERE record_id IS NOT NULL"
        )
        var partners: [String: PartnerID] = [:]
        while try records.step() {
            let partnerText = records.string(0)
            let partner = try partners[partnerText] ?? PartnerID(partnerText)
            partners[partnerText] = partner
            let key = try RecordKey(partner: partner, recordID: records.string(1))
            snapshot.records[key] = RecordEntry(
                seq: records.int64(2),
                kind: PostingKind(rawValue: Int(records.int64(3))) ?? .enroll,
                units: records.int64(4),
                reversedUnits: records.int64(5)
            )
        }
        let head = try database.statement("SELECT seq, hash FROM postings ORDER BY seq DESC LIMIT 1")
        if try head.step() {
            snapshot.lastSeq = head.int64(0)
            snapshot.lastHash = head.bytes(1)
        }
        snapshot.lastBatch = try database.integer("SELECT coalesce(max(id), 0) FROM batches") ?? 0
        snapshot.lastLotID = try database.integer("SELECT value FROM counters WHERE name = 'lot'") ?? 0
        snapshot.lastObligationID = try database.integer("SELECT coalesce(max(id), 0) FROM obligations") ?? 0
        return snapshot
    }

    // MARK: Writing

    public func commit(_ write: LedgerWrite) throws {
        try database.transaction {
            let batch = try database.statement(
                "INSERT INTO batches (id, partner, sequence, source, received_at, postings) VALUES (?, ?, ?, ?, ?, ?)"
            )
            batch.bind(1, write.batchID)
            batch.bind(2, write.info.partner?.rawValue)
            batch.bind(3, write.info.sequence)
            batch.bind(4, write.info.source)
            batch.bind(5, write.info.receivedAt.seconds)
            batch.bind(6, Int64(write.postings.count))
            try batch.run()

            let members = try database.statement(
                "INSERT OR REPLACE INTO members (number, enrolled_at, enrolled_by, closed) VALUES (?, ?, ?, ?)"
            )
            for account in write.members.values {
                members.bind(1, Int64(bitPattern: account.number.value))
                members.bind(2, account.enrolledAt.seconds)
                members.bind(3, account.enrolledBy?.rawValue)
                members.bind(4, account.isClosed ? 1 : 0)
                try members.run()
            }

            let posting = try database.statement(
                """
                INSERT INTO postings (seq, batch, kind, partner, record_id, member, occurred, units, points, legs,
                    detail, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
            )
            for p in write.postings {
                posting.bind(1, p.seq)
                posting.bind(2, p.batch)
                posting.bind(3, Int64(p.kind.rawValue))
                posting.bind(4, p.partner?.rawValue)
                posting.bind(5, p.recordID)
                posting.bind(6, p.member.map { Int64(bitPattern: $0.value) })
                posting.bind(7, p.occurredAt.seconds)
                posting.bind(8, p.units)
                posting.bind(9, p.points)
                posting.bind(10, Posting.encode(p.legs))
                posting.bind(11, p.detail)
                posting.bind(12, p.hash)
                try posting.run()
            }

            let reversed = try database.statement("UPDATE postings SET reversed_units = ? WHERE seq = ?")
            for (seq, units) in write.reversedUnits {
                reversed.bind(1, units)
                reversed.bind(2, seq)
                try reversed.run()
            }

            let lot = try database.statement(
                """
                INSERT OR REPLACE INTO lots (id, member, issuer, points, earned_at, expires_at, bonus)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
            )
            for l in write.lots.values {
                lot.bind(1, l.id)
                lot.bind(2, Int64(bitPattern: l.member.value))
                lot.bind(3, l.issuer.rawValue)
                lot.bind(4, l.points)
                lot.bind(5, l.earnedAt.seconds)
                lot.bind(6, l.expiresAt.seconds)
                lot.bind(7, l.isBonus ? 1 : 0)
                try lot.run()
            }
            let deleteLot = try database.statement("DELETE FROM lots WHERE id = ?")
            for id in write.deletedLots {
                deleteLot.bind(1, id)
                try deleteLot.run()
            }
            if let maxLot =
                (write.lots.keys.max().map { max($0, write.deletedLots.max() ?? 0) }
                    ?? write.deletedLots.max())
            {
                let counter = try database.statement(
                    "INSERT INTO counters (name, value) VALUES ('lot', ?) "
                        + "ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)"
                )
                counter.bind(1, maxLot)
                try counter.run()
            }

            let account = try database.statement(
                "INSERT OR REPLACE INTO accounts (account, unit, balance) VALUES (?, ?, ?)"
            )
            for (key, balance) in write.accounts {
                account.bind(1, key.account)
                account.bind(2, key.unit)
                account.bind(3, balance)
                try account.run()
            }

            let obligation = try database.statement(
                """
                INSERT INTO obligations (id, posting, debtor, creditor, currency, amount, points, occurred,
                    source_partner, source_record, member, cycle) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
            )
            for o in write.obligations {
                obligation.bind(1, o.id)
                obligation.bind(2, o.postingSeq)
                obligation.bind(3, o.debtor.rawValue)
                obligation.bind(4, o.creditor.rawValue)
                obligation.bind(5, o.currency.code)
                obligation.bind(6, o.amount)
                obligation.bind(7, o.points)
                obligation.bind(8, o.occurredAt.seconds)
                obligation.bind(9, o.source.partner.rawValue)
                obligation.bind(10, o.source.recordID)
                obligation.bind(11, Int64(bitPattern: o.member.value))
                obligation.bind(12, o.cycle)
                try obligation.run()
            }

            let attachment = try database.statement(
                "INSERT INTO attachments (batch, name, bytes) VALUES (?, ?, ?)"
            )
            for (name, bytes) in write.attachments {
                attachment.bind(1, write.batchID)
                attachment.bind(2, name)
                attachment.bind(3, bytes)
                try attachment.run()
            }
        }
    }

    // MARK: Reading

    static let postingColumns =
        "seq, batch, kind, partner, record_id, member, occurred, units, points, legs, detail, hash"

    private func readPosting(_ s: Statement) throws -> Posting {
        let seq = s.int64(0)
        guard let kind = PostingKind(rawValue: Int(s.int64(2))) else {
            throw CoalitionError(.auditFailed, "posting \(seq) has an unknown kind \(s.int64(2))")
        }
        guard let legs = Posting.decodeLegs(s.string(9)) else {
            throw CoalitionError(.auditFailed, "posting \(seq) has legs that do not parse")
        }
        return Posting(
            seq: seq,
            batch: s.int64(1),
            kind: kind,
            partner: try s.optionalString(3).map(PartnerID.init),
            recordID: s.optionalString(4),
            member: try s.optionalInt64(5).map { try MemberNumber(String($0)) },
            occurredAt: Timestamp(seconds: s.int64(6)),
            units: s.int64(7),
            points: s.int64(8),
            legs: legs,
            detail: s.string(10),
            hash: s.bytes(11)
        )
    }

    public func posting(seq: Int64) throws -> Posting? {
        let s = try database.statement("SELECT \(SQLiteStore.postingColumns) FROM postings WHERE seq = ?")
        s.bind(1, seq)
        return try s.step() ? try readPosting(s) : nil
    }

    public func forEachPosting(_ body: (Posting) throws -> Void) throws {
        let s = try database.statement("SELECT \(SQLiteStore.postingColumns) FROM postings ORDER BY seq")
        while try s.step() { try body(try readPosting(s)) }
    }

    public func obligations(openOnly: Bool) throws -> [Obligation] {
        try readObligations(openOnly ? "WHERE cycle IS NULL" : "", bind: { _ in })
    }

    public func obligations(causedBy member: MemberNumber) throws -> [Obligation] {
        try readObligations("WHERE member = ?", bind: { $0.bind(1, Int64(bitPattern: member.value)) })
    }

    private func readObligations(_ filter: String, bind: (Statement) -> Void) throws -> [Obligation] {
        let s = try database.statement(
            """
            SELECT id, posting, debtor, creditor, currency, amount, points, occurred, source_partner,
                source_record, member, cycle FROM obligations \(filter) ORDER BY id
            """
        )
        bind(s)
        var out: [Obligation] = []
        var currencies: [String: Currency] = [:]
        while try s.step() {
            let code = s.string(4)
            let currency = try currencies[code] ?? Currency(code: code)
            currencies[code] = currency
            out.append(
                Obligation(
                    id: s.int64(0),
                    postingSeq: s.int64(1),
                    debtor: try PartnerID(s.string(2)),
                    creditor: try PartnerID(s.string(3)),
                    currency: currency,
                    amount: s.int64(5),
                    points: s.int64(6),
                    occurredAt: Timestamp(seconds: s.int64(7)),
                    source: try RecordKey(partner: PartnerID(s.string(8)), recordID: s.string(9)),
                    member: try MemberNumber(String(s.int64(10))),
                    cycle: s.optionalInt64(11)
                )
            )
        }
        return out
    }

    /// The bytes attached to batch `batch` under `name`.
    public func attachment(batch: Int64, name: String) throws -> [UInt8]? {
        let s = try database.statement("SELECT bytes FROM attachments WHERE batch = ? AND name = ?")
        s.bind(1, batch)
        s.bind(2, name)
        return try s.step() ? s.bytes(0) : nil
    }

    /// Runs raw SQL against the ledger file: for tests that tamper with it on purpose.
    public func executeForTesting(_ sql: String) throws { try database.execute(sql) }

    /// Every row of every table as text, in a fixed order: two ledgers with the same content
    /// give the same dump.
    public func contentDump() throws -> String {
        var out = ""
        let tables = try database.statement(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
        var names: [String] = []
        while try tables.step() { names.append(tables.string(0)) }
        for name in names {
            out += "== \(name)\n"
            let all = try database.statement("SELECT * FROM \(name) ORDER BY 1, 2")
            while try all.step() { out += all.rowText() + "\n" }
        }
        return out
    }
}
