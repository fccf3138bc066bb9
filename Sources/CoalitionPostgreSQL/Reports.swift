import CoalitionKit
import CoalitionStoreSupport

/// The store's answers for reports, statements, replays and cycles: the SQLite store's
/// queries (`ReportQueries.swift`), in PostgreSQL's dialect; the rows are decoded by the
/// same `StoredRows`.
extension PostgreSQLStore {
    package func tierChanges(member: MemberNumber) throws -> [TierChange] {
        let rows = try connection.query(
            "SELECT at, from_tier, to_tier, reason FROM tier_changes WHERE member = $1 ORDER BY ordinal",
            [String(Int64(bitPattern: member.value))]
        )
        return (0..<rows.count).map { StoredRows.tierChange(rows[$0], member: member) }
    }

    package func postings(member: MemberNumber, in range: ClosedRange<Timestamp>) throws -> [Posting] {
        let rows = try connection.query(
            """
            SELECT \(PostgreSQLStore.postingColumns) FROM postings WHERE member = $1 AND occurred BETWEEN $2 AND $3
            UNION SELECT \(PostgreSQLStore.postingColumns) FROM postings
            WHERE counterparty = $1 AND occurred BETWEEN $2 AND $3
            ORDER BY seq
            """,
            [
                String(Int64(bitPattern: member.value)), String(range.lowerBound.seconds),
                String(range.upperBound.seconds),
            ]
        )
        return try (0..<rows.count).map { try readPosting(rows, $0) }
    }

    package func batch(partner: PartnerID, sequence: Int64) throws -> BatchSummary? {
        let rows = try connection.query(
            """
            SELECT \(StoreSQL.batchColumns)
            FROM batches WHERE partner = $1 AND sequence = $2
            """,
            [partner.rawValue, String(sequence)]
        )
        guard rows.count > 0 else { return nil }
        return StoredRows.batchSummary(rows[0], partner: partner, sequence: sequence)
    }

    package func lastSequence(partner: PartnerID) throws -> Int64 {
        try connection.integer("SELECT coalesce(max(sequence), 0) FROM batches WHERE partner = $1", [partner.rawValue])
            ?? 0
    }

    package func rejections(batch: Int64) throws -> [Rejection] {
        let rows = try connection.query(
            "SELECT line, record_id, code, message FROM rejections WHERE batch = $1 ORDER BY line, ordinal",
            [String(batch)]
        )
        return (0..<rows.count).map { StoredRows.rejection(rows[$0]) }
    }

    package func obligations(openOnly: Bool) throws -> [Obligation] {
        try readObligations(openOnly ? "WHERE \(StoreSQL.cycleOfObligation) IS NULL" : "", [])
    }

    package func obligations(causedBy member: MemberNumber) throws -> [Obligation] {
        try readObligations("WHERE member = $1", [String(Int64(bitPattern: member.value))])
    }

    package func obligations(creditor: PartnerID) throws -> [Obligation] {
        try readObligations("WHERE creditor = $1", [creditor.rawValue])
    }

    package func obligations(cycle number: Int64) throws -> [Obligation] {
        try readObligations("WHERE \(StoreSQL.cycleOfObligation) = $1", [String(number)])
    }

    private func readObligations(_ filter: String, _ parameters: [String?]) throws -> [Obligation] {
        var out: [Obligation] = []
        var currencies: [String: Currency] = [:]
        try readOnly {
            try connection.forEachRow(
                """
                SELECT \(StoreSQL.obligationColumns) FROM obligations o \(filter) ORDER BY id
                """,
                parameters
            ) { rows, row in out.append(try StoredRows.obligation(rows[row], currencies: &currencies)) }
        }
        return out
    }

    package func openObligationTotals(
        through: Timestamp,
        watermark: Int64
    ) throws -> (
        totals: [ObligationTotal], batches: [BatchReference]
    ) {
        try readOnly { try openObligationTotalsInTransaction(through: through, watermark: watermark) }
    }

    private func openObligationTotalsInTransaction(
        through: Timestamp,
        watermark: Int64
    ) throws -> (
        totals: [ObligationTotal], batches: [BatchReference]
    ) {
        // Cycles only move forward (see the SQLite store): the obligations every earlier cycle
        // took are exactly those the last cycle's window covers.
        var lastWatermark: Int64 = 0
        var lastThrough = Int64.min
        let last = try connection.query("SELECT watermark, through FROM cycles ORDER BY number DESC LIMIT 1")
        if last.count > 0 {
            lastWatermark = last.int64(0, 0)
            lastThrough = last.int64(0, 1)
        }
        // Sums as numeric, exact whatever their size; each must still fit an Int64 to be used.
        let rows = try connection.query(
            """
            SELECT batch, debtor, creditor, currency, sum(amount), sum(points), count(*) FROM obligations
            WHERE id <= $1 AND occurred <= $2 AND (id > $3 OR occurred > $4)
            GROUP BY batch, debtor, creditor, currency
            """,
            [String(watermark), String(through.seconds), String(lastWatermark), String(lastThrough)]
        )
        func exact(_ row: Int, _ column: Int) throws -> Int64 {
            guard let value = Int64(rows.string(row, column)) else {
                throw CoalitionError(.overflow, "a sum of open obligations does not fit 64 bits")
            }
            return value
        }
        var sums = OpenObligationSums()
        for row in 0..<rows.count {
            try sums.add(
                batch: rows.int64(row, 0),
                debtor: rows.string(row, 1),
                creditor: rows.string(row, 2),
                currency: rows.string(row, 3),
                amount: exact(row, 4),
                points: exact(row, 5),
                count: Int(rows.int64(row, 6))
            )
        }
        var references: [BatchReference] = []
        let ids = sums.parties.keys.sorted()
        let batches = try connection.query(
            "SELECT id, partner, sequence FROM batches WHERE id = ANY($1::bigint[]) AND sequence IS NOT NULL",
            [ArrayLiteral.integers(ids)]
        )
        for row in 0..<batches.count {
            guard
                let reference = try sums.reference(
                    batch: batches.int64(row, 0),
                    partner: batches.string(row, 1),
                    sequence: batches.int64(row, 2)
                )
            else { continue }
            references.append(reference)
        }
        references.sort { ($0.partner, $0.sequence) < ($1.partner, $1.sequence) }
        return (try sums.totals(), references)
    }

    package func cycles() throws -> [ClearingCycle] {
        try readOnly { try readCycles() }
    }

    private func readCycles() throws -> [ClearingCycle] {
        let heads = try connection.query("SELECT \(StoreSQL.cycleHeadColumns) FROM cycles ORDER BY number")
        return try (0..<heads.count).map { head in
            let parameter = [String(heads.int64(head, 0))]
            var cycle = CycleRows()
            func read(_ sql: String, _ add: (ResultRow) throws -> Void) throws {
                let rows = try connection.query(sql, parameter)
                for row in 0..<rows.count { try add(rows[row]) }
            }
            try read("SELECT \(CycleRows.grossColumns) FROM cycle_gross WHERE cycle = $1") { try cycle.addGross($0) }
            try read("SELECT \(CycleRows.netColumns) FROM cycle_net WHERE cycle = $1") { try cycle.addNet($0) }
            try read(
                "SELECT \(CycleRows.instructionColumns) FROM cycle_instructions WHERE cycle = $1 ORDER BY form, ordinal"
            ) { try cycle.addInstruction($0) }
            try read(
                "SELECT \(CycleRows.batchColumns) FROM cycle_batches WHERE cycle = $1 ORDER BY partner, sequence"
            ) { try cycle.addBatch($0) }
            return try cycle.cycle(head: heads[head])
        }
    }
}
