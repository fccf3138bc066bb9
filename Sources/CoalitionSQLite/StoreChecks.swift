import CoalitionKit
import Foundation

/// The checks of the store itself: its integrity before a process writes, and the rows the
/// audit cannot reach through the engine's state, recomputed from the hash-chained journal.
extension SQLiteStore {
    /// Checks the file before a process first writes into it: SQLite's `quick_check` (every
    /// page of every table and index read once, their structure checked) and the schema
    /// version. Throws `LEDGER_DAMAGED` and writes nothing when it fails: a batch applied on
    /// top of damaged pages would be lost, or would spread the damage. Costs one read of the
    /// file; the pages it reads are the ones the batch is about to need.
    package func checkIntegrity() throws {
        let found: [String]
        do {
            let check = try database.statement("PRAGMA quick_check(10)")
            var rows: [String] = []
            while try check.step() { rows.append(check.string(0)) }
            check.reset()
            found = rows
        } catch let error as CoalitionError {
            throw CoalitionError(
                .ledgerDamaged,
                "the ledger's file is damaged (\(error.message)); nothing was written: restore it from a backup",
                at: Place(file: path)
            )
        }
        guard found == ["ok"] else {
            throw CoalitionError(
                .ledgerDamaged,
                "the ledger's file is damaged: \(found.prefix(3).joined(separator: "; ")); nothing was written: "
                    + "restore it from a backup",
                at: Place(file: path)
            )
        }
        let version = try database.integer("PRAGMA user_version") ?? 0
        guard version == Int64(Schema.migrations.count) else {
            throw CoalitionError(
                .ledgerDamaged,
                "the ledger's schema version is \(version), not \(Schema.migrations.count); nothing was written",
                at: Place(file: path)
            )
        }
    }

    /// Where tables that are not in the hash chain differ from what the journal says: the
    /// reversed units of each record (the sum of the units of its reversals), the batch of
    /// every posting and the batch rows' posting ranges, and each member's tier (the last
    /// tier change's). The audit reports them beside its own.
    package func derivedTableProblems(tiers: [Tier]) throws -> [String] {
        try writer.drain()
        var problems: [String] = []
        func problem(_ text: String) { if problems.count < 50 { problems.append(text) } }

        // A reversal's posting carries its units and `of=<original record id>`, hashed, then
        // `;`-separated fields (`split=…`) when it names the issuers it gave back.
        let reversed = try database.statement(
            """
            WITH journal AS (
                SELECT o.seq AS seq, sum(v.units) AS units FROM postings v
                JOIN postings o ON o.partner = v.partner AND o.record_id = CASE
                    WHEN instr(v.detail, ';') > 0 THEN substr(v.detail, 4, instr(v.detail, ';') - 4)
                    ELSE substr(v.detail, 4) END
                WHERE v.kind IN (\(PostingKind.reverseEarn.rawValue), \(PostingKind.reverseRedeem.rawValue))
                    AND v.detail LIKE 'of=%'
                GROUP BY o.seq)
            SELECT j.seq, j.units, coalesce(r.units, 0) FROM journal j LEFT JOIN reversed r ON r.seq = j.seq
                WHERE r.units IS NULL OR r.units != j.units
            UNION ALL
            SELECT r.seq, 0, r.units FROM reversed r WHERE r.units != 0 AND r.seq NOT IN (SELECT seq FROM journal)
            """
        )
        while try reversed.step() {
            problem(
                "record of posting \(reversed.int64(0)) is reversed by \(reversed.int64(1)) units in the journal "
                    + "but the ledger holds \(reversed.int64(2))"
            )
        }
        reversed.reset()

        let batches = try database.statement(
            """
            SELECT p.batch, p.first, p.last, b.id, b.first_seq, b.last_seq FROM
                (SELECT batch, min(seq) AS first, max(seq) AS last FROM postings GROUP BY batch) p
                LEFT JOIN batches b ON b.id = p.batch
                WHERE b.id IS NULL OR b.first_seq IS NOT p.first OR b.last_seq IS NOT p.last
            """
        )
        while try batches.step() {
            if batches.isNull(3) {
                problem(
                    "postings \(batches.int64(1))…\(batches.int64(2)) name batch \(batches.int64(0)), which has no row"
                )
            } else {
                problem(
                    "batch \(batches.int64(0)) holds postings \(batches.int64(1))…\(batches.int64(2)) but its row says "
                        + "\(batches.optionalInt64(4).map(String.init) ?? "none")…"
                        + "\(batches.optionalInt64(5).map(String.init) ?? "none")"
                )
            }
        }
        batches.reset()
        let lastBatch = try database.integer("SELECT coalesce(max(id), 0) FROM batches") ?? 0
        let batchRows = try database.integer("SELECT count(*) FROM batches") ?? 0
        if batchRows != lastBatch {
            problem("the batches table holds \(batchRows) rows for \(lastBatch) batches: a batch row is missing")
        }

        let names = Dictionary(tiers.enumerated().map { ($0.element.name, Int64($0.offset)) }) { first, _ in first }
        let members = try database.statement(
            """
            SELECT m.number, m.tier,
                (SELECT to_tier FROM tier_changes c WHERE c.member = m.number ORDER BY c.rowid DESC LIMIT 1)
            FROM members m
            """
        )
        while try members.step() {
            let expected = members.optionalString(2).map { names[$0] ?? -1 } ?? 0
            if members.int64(1) != expected {
                problem(
                    "member \(members.int64(0)) is in tier \(members.int64(1)) but its tier changes put it in \(expected)"
                )
            }
        }
        members.reset()
        return problems
    }
}
