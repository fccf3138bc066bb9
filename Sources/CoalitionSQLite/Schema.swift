/// The ledger's schema, as numbered migrations. `PRAGMA user_version` is the number of
/// migrations applied; a new version appends a migration and never edits an old one.
enum Schema {
    static let migrations: [String] = [
        // 1: the clearing ledger.
        """
        CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE batches (
            id INTEGER PRIMARY KEY,
            partner TEXT,
            sequence INTEGER,
            source TEXT NOT NULL,
            received_at INTEGER NOT NULL,
            records INTEGER NOT NULL,
            accepted INTEGER NOT NULL,
            rejected INTEGER NOT NULL,
            first_seq INTEGER,
            last_seq INTEGER,
            file_signature TEXT,
            file_created_at INTEGER,
            ack_key_id TEXT,
            ack_created_at INTEGER,
            ack_signature TEXT
        );
        CREATE UNIQUE INDEX batches_by_partner ON batches (partner, sequence) WHERE sequence IS NOT NULL;
        CREATE TABLE rejections (
            batch INTEGER NOT NULL,
            line INTEGER NOT NULL,
            record_id TEXT NOT NULL,
            code TEXT NOT NULL,
            message TEXT NOT NULL
        );
        CREATE INDEX rejections_by_batch ON rejections (batch, line);
        CREATE TABLE members (
            number INTEGER PRIMARY KEY,
            enrolled_at INTEGER NOT NULL,
            enrolled_by TEXT,
            closed INTEGER NOT NULL DEFAULT 0,
            tier INTEGER NOT NULL DEFAULT 0,
            tier_since INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE qualifying (
            member INTEGER NOT NULL,
            day INTEGER NOT NULL,
            points INTEGER NOT NULL,
            PRIMARY KEY (member, day)
        ) WITHOUT ROWID;
        CREATE TABLE tier_changes (
            member INTEGER NOT NULL,
            at INTEGER NOT NULL,
            from_tier TEXT NOT NULL,
            to_tier TEXT NOT NULL,
            reason TEXT NOT NULL
        );
        CREATE INDEX tier_changes_by_member ON tier_changes (member);
        CREATE TABLE expired_lots (
            id INTEGER PRIMARY KEY,
            member INTEGER NOT NULL,
            issuer TEXT NOT NULL,
            points INTEGER NOT NULL,
            expired_at INTEGER NOT NULL,
            reversed INTEGER NOT NULL
        );
        CREATE TABLE postings (
            seq INTEGER PRIMARY KEY,
            batch INTEGER NOT NULL,
            kind INTEGER NOT NULL,
            partner TEXT,
            record_id TEXT,
            member INTEGER,
            counterparty INTEGER,
            occurred INTEGER NOT NULL,
            units INTEGER NOT NULL,
            points INTEGER NOT NULL,
            legs TEXT NOT NULL,
            detail TEXT NOT NULL,
            hash BLOB NOT NULL,
            reversed_units INTEGER NOT NULL DEFAULT 0
        );
        CREATE UNIQUE INDEX postings_by_record ON postings (partner, record_id) WHERE record_id IS NOT NULL;
        CREATE INDEX postings_by_counterparty ON postings (counterparty) WHERE counterparty IS NOT NULL;
        CREATE TABLE lots (
            id INTEGER PRIMARY KEY,
            member INTEGER NOT NULL,
            issuer TEXT NOT NULL,
            points INTEGER NOT NULL,
            earned_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            bonus INTEGER NOT NULL
        );
        CREATE TABLE accounts (
            account TEXT NOT NULL,
            unit TEXT NOT NULL,
            balance INTEGER NOT NULL,
            PRIMARY KEY (account, unit)
        ) WITHOUT ROWID;
        CREATE TABLE obligations (
            id INTEGER PRIMARY KEY,
            posting INTEGER NOT NULL,
            debtor TEXT NOT NULL,
            creditor TEXT NOT NULL,
            currency TEXT NOT NULL,
            amount INTEGER NOT NULL,
            points INTEGER NOT NULL,
            occurred INTEGER NOT NULL,
            source_partner TEXT NOT NULL,
            source_record TEXT NOT NULL,
            member INTEGER NOT NULL,
            batch INTEGER NOT NULL
        );
        CREATE TABLE cycles (
            number INTEGER PRIMARY KEY,
            through INTEGER NOT NULL,
            closed_at INTEGER NOT NULL,
            watermark INTEGER NOT NULL,
            obligations INTEGER NOT NULL,
            posting_seq INTEGER NOT NULL
        );
        CREATE TABLE cycle_gross (
            cycle INTEGER NOT NULL,
            currency TEXT NOT NULL,
            debtor TEXT NOT NULL,
            creditor TEXT NOT NULL,
            amount INTEGER NOT NULL
        );
        CREATE TABLE cycle_net (
            cycle INTEGER NOT NULL,
            currency TEXT NOT NULL,
            participant TEXT NOT NULL,
            amount INTEGER NOT NULL,
            fee INTEGER NOT NULL
        );
        CREATE TABLE cycle_instructions (
            cycle INTEGER NOT NULL,
            form TEXT NOT NULL,
            ordinal INTEGER NOT NULL,
            currency TEXT NOT NULL,
            payer TEXT NOT NULL,
            payee TEXT NOT NULL,
            amount INTEGER NOT NULL
        );
        CREATE TABLE cycle_batches (
            cycle INTEGER NOT NULL,
            partner TEXT NOT NULL,
            sequence INTEGER NOT NULL,
            counterparties TEXT NOT NULL
        );
        """,
        // 2: reversed units move out of the journal into a table of their own. A reversal of
        // an old record then changes a row of a small table, not a random page of the
        // postings table (one page written to the WAL for each reversal, and read first).
        // `postings.reversed_units` stays, always 0, so no version-1 table is rewritten.
        """
        CREATE TABLE reversed (
            seq INTEGER PRIMARY KEY,
            units INTEGER NOT NULL
        );
        INSERT INTO reversed (seq, units) SELECT seq, reversed_units FROM postings WHERE reversed_units != 0;
        UPDATE postings SET reversed_units = 0 WHERE reversed_units != 0;
        """,
        // 3: referrals: the link an enrolment with a referral code made (once, forever), and
        // whether the bonus was paid (the earn's posting) or taken back. Self-contained: a
        // ledger without referrals has an empty table.
        """
        CREATE TABLE referrals (
            member INTEGER PRIMARY KEY,
            referrer INTEGER NOT NULL,
            linked_at INTEGER NOT NULL,
            partner TEXT NOT NULL,
            bonus_seq INTEGER,
            reversed INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX referrals_by_referrer ON referrals (referrer);
        """,
        // 4: the outbox of events to partners (webhooks). A batch's events are written in the
        // batch's transaction; `rowid` is the order they were made in. `status` is pending,
        // delivered or failed; a pending event is due at `next_attempt_at`.
        """
        CREATE TABLE webhook_events (
            id TEXT NOT NULL UNIQUE,
            partner TEXT NOT NULL,
            type TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            body BLOB NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            last_attempt_at INTEGER,
            last_error TEXT,
            delivered_at INTEGER
        );
        CREATE INDEX webhook_events_due ON webhook_events (status, next_attempt_at);
        """,
    ]

    /// Applies the migrations `database` has not had yet, each in its own transaction.
    static func migrate(_ database: Database) throws {
        let current = try database.integer("PRAGMA user_version") ?? 0
        for (index, sql) in migrations.enumerated() where Int64(index) >= current {
            try database.transaction {
                try database.execute(sql)
                try database.execute("PRAGMA user_version = \(index + 1)")
            }
        }
    }
}
