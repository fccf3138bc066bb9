import CoalitionKit

/// The ledger's schema on PostgreSQL, as numbered migrations: the SQLite schema's tables and
/// columns, with `bigint` for every integer (as exact as SQLite's 64-bit integers: points,
/// amounts and member numbers never leave the integers) and `bytea` for the hash chain.
///
/// `coalition_meta` marks the database as a Coalition ledger (`application_id`) and holds the
/// number of migrations applied (`schema_version`); a new version appends a migration and
/// never edits an old one. A database without that table, or with another application id,
/// is not a ledger and is left untouched; one with a higher version is refused.
enum Schema {
    /// `Coal` in ASCII, as the SQLite ledger's `application_id`.
    static let applicationID: Int64 = 0x436F_616C

    static let migrations: [String] = [
        // 1: the clearing ledger, as SQLite's version 2 (reversed units in their own table).
        // `rejections` and `tier_changes` have an identity column where SQLite has a rowid:
        // the order rows were written in. `state_snapshot` holds the saved state (see
        // `PostgreSQLStore`), the SQLite store's state file. Tables whose rows change in place
        // leave a third of each page free (`fillfactor`): an update of a column no index
        // covers then stays on its page (a HOT update) and touches no index.
        """
        CREATE TABLE counters (name text PRIMARY KEY, value bigint NOT NULL);
        CREATE TABLE batches (
            id bigint PRIMARY KEY,
            partner text,
            sequence bigint,
            source text NOT NULL,
            received_at bigint NOT NULL,
            records bigint NOT NULL,
            accepted bigint NOT NULL,
            rejected bigint NOT NULL,
            first_seq bigint,
            last_seq bigint,
            file_signature text,
            file_created_at bigint,
            ack_key_id text,
            ack_created_at bigint,
            ack_signature text
        );
        CREATE UNIQUE INDEX batches_by_partner ON batches (partner, sequence) WHERE sequence IS NOT NULL;
        CREATE TABLE rejections (
            ordinal bigint GENERATED ALWAYS AS IDENTITY,
            batch bigint NOT NULL,
            line bigint NOT NULL,
            record_id text NOT NULL,
            code text NOT NULL,
            message text NOT NULL
        );
        CREATE INDEX rejections_by_batch ON rejections (batch, line);
        CREATE TABLE members (
            number bigint PRIMARY KEY,
            enrolled_at bigint NOT NULL,
            enrolled_by text,
            closed bigint NOT NULL DEFAULT 0,
            tier bigint NOT NULL DEFAULT 0,
            tier_since bigint NOT NULL DEFAULT 0
        ) WITH (fillfactor = 70);
        CREATE TABLE qualifying (
            member bigint NOT NULL,
            day bigint NOT NULL,
            points bigint NOT NULL,
            PRIMARY KEY (member, day)
        ) WITH (fillfactor = 70);
        CREATE TABLE tier_changes (
            ordinal bigint GENERATED ALWAYS AS IDENTITY,
            member bigint NOT NULL,
            at bigint NOT NULL,
            from_tier text NOT NULL,
            to_tier text NOT NULL,
            reason text NOT NULL
        );
        CREATE INDEX tier_changes_by_member ON tier_changes (member);
        CREATE TABLE expired_lots (
            id bigint PRIMARY KEY,
            member bigint NOT NULL,
            issuer text NOT NULL,
            points bigint NOT NULL,
            expired_at bigint NOT NULL,
            reversed bigint NOT NULL
        ) WITH (fillfactor = 70);
        CREATE TABLE postings (
            seq bigint PRIMARY KEY,
            batch bigint NOT NULL,
            kind bigint NOT NULL,
            partner text,
            record_id text,
            member bigint,
            counterparty bigint,
            occurred bigint NOT NULL,
            units bigint NOT NULL,
            points bigint NOT NULL,
            legs text NOT NULL,
            detail text NOT NULL,
            hash bytea NOT NULL
        );
        CREATE UNIQUE INDEX postings_by_record ON postings (partner, record_id) WHERE record_id IS NOT NULL;
        CREATE INDEX postings_by_counterparty ON postings (counterparty) WHERE counterparty IS NOT NULL;
        CREATE TABLE reversed (seq bigint PRIMARY KEY, units bigint NOT NULL) WITH (fillfactor = 70);
        CREATE TABLE lots (
            id bigint PRIMARY KEY,
            member bigint NOT NULL,
            issuer text NOT NULL,
            points bigint NOT NULL,
            earned_at bigint NOT NULL,
            expires_at bigint NOT NULL,
            bonus bigint NOT NULL
        ) WITH (fillfactor = 70);
        CREATE TABLE accounts (
            account text NOT NULL,
            unit text NOT NULL,
            balance bigint NOT NULL,
            PRIMARY KEY (account, unit)
        ) WITH (fillfactor = 70);
        CREATE TABLE obligations (
            id bigint PRIMARY KEY,
            posting bigint NOT NULL,
            debtor text NOT NULL,
            creditor text NOT NULL,
            currency text NOT NULL,
            amount bigint NOT NULL,
            points bigint NOT NULL,
            occurred bigint NOT NULL,
            source_partner text NOT NULL,
            source_record text NOT NULL,
            member bigint NOT NULL,
            batch bigint NOT NULL
        );
        CREATE INDEX obligations_by_member ON obligations (member);
        CREATE INDEX obligations_by_creditor ON obligations (creditor);
        CREATE TABLE cycles (
            number bigint PRIMARY KEY,
            through bigint NOT NULL,
            closed_at bigint NOT NULL,
            watermark bigint NOT NULL,
            obligations bigint NOT NULL,
            posting_seq bigint NOT NULL
        );
        CREATE TABLE cycle_gross (
            cycle bigint NOT NULL,
            currency text NOT NULL,
            debtor text NOT NULL,
            creditor text NOT NULL,
            amount bigint NOT NULL
        );
        CREATE TABLE cycle_net (
            cycle bigint NOT NULL,
            currency text NOT NULL,
            participant text NOT NULL,
            amount bigint NOT NULL,
            fee bigint NOT NULL
        );
        CREATE TABLE cycle_instructions (
            cycle bigint NOT NULL,
            form text NOT NULL,
            ordinal bigint NOT NULL,
            currency text NOT NULL,
            payer text NOT NULL,
            payee text NOT NULL,
            amount bigint NOT NULL
        );
        CREATE TABLE cycle_batches (
            cycle bigint NOT NULL,
            partner text NOT NULL,
            sequence bigint NOT NULL,
            counterparties text NOT NULL
        );
        CREATE TABLE state_snapshot (
            id bigint PRIMARY KEY CHECK (id = 1),
            last_batch bigint NOT NULL,
            last_seq bigint NOT NULL,
            last_hash bytea NOT NULL,
            last_lot bigint NOT NULL,
            last_obligation bigint NOT NULL,
            state bytea NOT NULL
        );
        """,
        // 2: the writer's lease (`WriterLease`): which `coalition serve` is the writer, its
        // fencing epoch, and until when (the server's clock). One row, there from the start.
        """
        CREATE TABLE writer_lease (
            id bigint PRIMARY KEY CHECK (id = 1),
            epoch bigint NOT NULL,
            holder text NOT NULL,
            expires_at timestamptz NOT NULL
        );
        INSERT INTO writer_lease (id, epoch, holder, expires_at) VALUES (1, 0, '', '-infinity');
        """,
        // 3: referrals, as SQLite's version 3: the link an enrolment with a referral code
        // made, and whether the bonus was paid (the earn's posting) or taken back.
        """
        CREATE TABLE referrals (
            member bigint PRIMARY KEY,
            referrer bigint NOT NULL,
            linked_at bigint NOT NULL,
            partner text NOT NULL,
            bonus_seq bigint,
            reversed bigint NOT NULL DEFAULT 0
        );
        CREATE INDEX referrals_by_referrer ON referrals (referrer);
        """,
        // 4: the outbox of events to partners (webhooks), as SQLite's version 4. A batch's
        // events are written in the batch's transaction; `ordinal` is the order they were
        // made in. `status` is pending, delivered or failed; a pending event is due at
        // `next_attempt_at`. Rows change in place as attempts are made (`fillfactor`).
        """
        CREATE TABLE webhook_events (
            ordinal bigint GENERATED ALWAYS AS IDENTITY,
            id text NOT NULL UNIQUE,
            partner text NOT NULL,
            type text NOT NULL,
            created_at bigint NOT NULL,
            body text NOT NULL,
            status text NOT NULL DEFAULT 'pending',
            attempts bigint NOT NULL DEFAULT 0,
            next_attempt_at bigint NOT NULL,
            last_attempt_at bigint,
            last_error text,
            delivered_at bigint
        ) WITH (fillfactor = 70);
        CREATE INDEX webhook_events_due ON webhook_events (status, next_attempt_at);
        """,
    ]

    /// Whether the connected database holds a Coalition ledger, and at which version.
    enum Found: Equatable {
        /// No table at all in the schema: a database made for a ledger, not yet one.
        case empty
        /// Tables of something else.
        case foreign
        case ledger(version: Int64)
    }

    static func inspect(_ connection: Connection) throws -> Found {
        let hasMeta = try connection.integer(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'coalition_meta'"
        )
        if hasMeta == 0 {
            let tables = try connection.integer("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()")
            return tables == 0 ? .empty : .foreign
        }
        let id = try connection.integer("SELECT value FROM coalition_meta WHERE name = 'application_id'")
        guard id == applicationID else { return .foreign }
        return .ledger(
            version: try connection.integer("SELECT value FROM coalition_meta WHERE name = 'schema_version'") ?? 0
        )
    }

    /// Makes an empty database a ledger: the mark, then every migration.
    static func create(_ connection: Connection) throws {
        try connection.execute("BEGIN")
        do {
            try connection.execute(
                """
                CREATE TABLE coalition_meta (name text PRIMARY KEY, value bigint NOT NULL);
                INSERT INTO coalition_meta (name, value) VALUES ('application_id', \(applicationID)), ('schema_version', 0);
                """
            )
            try connection.execute("COMMIT")
        } catch {
            _ = try? connection.execute("ROLLBACK")
            throw error
        }
        try migrate(connection)
    }

    /// Applies the migrations the ledger has not had yet, each in its own transaction, under
    /// a lock so that two processes opening a ledger at once do not both migrate it.
    /// A ledger already current is not locked at all: a read-only replica opens it too.
    static func migrate(_ connection: Connection) throws {
        let version = try connection.integer("SELECT value FROM coalition_meta WHERE name = 'schema_version'") ?? 0
        guard version < Int64(migrations.count) else { return }
        for (index, sql) in migrations.enumerated() {
            try connection.execute("BEGIN")
            do {
                try connection.execute("LOCK TABLE coalition_meta IN EXCLUSIVE MODE")
                let current =
                    try connection.integer("SELECT value FROM coalition_meta WHERE name = 'schema_version'") ?? 0
                if Int64(index) >= current {
                    try connection.execute(sql)
                    try connection.execute(
                        "UPDATE coalition_meta SET value = \(index + 1) WHERE name = 'schema_version'"
                    )
                }
                try connection.execute("COMMIT")
            } catch {
                _ = try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }
}
