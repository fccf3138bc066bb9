import CoalitionKit
import CoalitionStoreSupport
import Foundation

/// The report queries: what the store answers besides the engine's own reads (members'
/// tier changes and postings, batches and their rejections, obligations and clearing
/// cycles, for reports, statements, reconciliation and the audit). The rows are decoded by
/// `StoredRows`, as the PostgreSQL store's are.
extension SQLiteStore {
    package func expiredLot(_ id: Int64) throws -> ExpiredLot? {
        if let batch = openBatch, let lot = batch.expiredLots[id] { return lot }
        // An expired lot the open batch did not change is as it was committed.
        let source = try connection(committed: openBatch != nil)
        let s = try source.statement(
            "SELECT \(StoreSQL.expiredLotColumns) FROM expired_lots WHERE id = ?"
        )
        defer { s.reset() }  // ends the read: no snapshot is kept open
        s.bind(1, id)
        guard try s.step() else { return nil }
        return try StoredRows.expiredLot(s, id: id)
    }

    package func tierChanges(member: MemberNumber) throws -> [TierChange] {
        try writer.drain()
        let s = try database.statement(
            "SELECT at, from_tier, to_tier, reason FROM tier_changes WHERE member = ? ORDER BY rowid"
        )
        defer { s.reset() }  // ends the read: no snapshot is kept open
        s.bind(1, Int64(bitPattern: member.value))
        var out: [TierChange] = []
        while try s.step() { out.append(StoredRows.tierChange(s, member: member)) }
        return out
    }

    package func postings(member: MemberNumber, in range: ClosedRange<Timestamp>) throws -> [Posting] {
        try writer.drain()
        let s = try database.statement(
            """
            SELECT \(SQLiteStore.postingColumns) FROM postings WHERE member = ?1 AND occurred BETWEEN ?2 AND ?3
            UNION SELECT \(SQLiteStore.postingColumns) FROM postings
            WHERE counterparty = ?1 AND occurred BETWEEN ?2 AND ?3
            ORDER BY seq
            """
        )
        defer { s.reset() }  // ends the read: no snapshot is kept open
        s.bind(1, Int64(bitPattern: member.value))
        s.bind(2, range.lowerBound.seconds)
        s.bind(3, range.upperBound.seconds)
        var out: [Posting] = []
        while try s.step() { out.append(try readPosting(s)) }
        return out
    }

    package func batch(partner: PartnerID, sequence: Int64) throws -> BatchSummary? {
        try writer.drain()
        let s = try database.statement(
            """
            SELECT \(StoreSQL.batchColumns)
            FROM batches WHERE partner = ? AND sequence = ?
            """
        )
        defer { s.reset() }  // ends the read: no snapshot is kept open
        s.bind(1, partner.rawValue)
        s.bind(2, sequence)
        guard try s.step() else { return nil }
        return StoredRows.batchSummary(s, partner: partner, sequence: sequence)
    }

    package func lastSequence(partner: PartnerID) throws -> Int64 {
        try writer.drain()
        let s = try database.statement("SELECT coalesce(max(sequence), 0) FROM batches WHERE partner = ?")
        s.bind(1, partner.rawValue)
        return try s.step() ? s.int64(0) : 0
    }

    package func rejections(batch: Int64) throws -> [Rejection] {
        try writer.drain()
        let s = try database.statement(
            "SELECT line, record_id, code, message FROM rejections WHERE batch = ? ORDER BY line, rowid"
        )
        defer { s.reset() }  // ends the read: no snapshot is kept open
        s.bind(1, batch)
        var out: [Rejection] = []
        while try s.step() { out.append(StoredRows.rejection(s)) }
        return out
    }

    package func obligations(openOnly: Bool) throws -> [Obligation] {
        try readObligations(openOnly ? "WHERE \(StoreSQL.cycleOfObligation) IS NULL" : "", bind: { _ in })
    }

    package func obligations(causedBy member: MemberNumber) throws -> [Obligation] {
        try readObligations("WHERE member = ?", bind: { $0.bind(1, Int64(bitPattern: member.value)) })
    }

    package func obligations(creditor: PartnerID) throws -> [Obligation] {
        try readObligations("WHERE creditor = ?", bind: { $0.bind(1, creditor.rawValue) })
    }

    package func obligations(cycle number: Int64) throws -> [Obligation] {
        try readObligations("WHERE \(StoreSQL.cycleOfObligation) = ?", bind: { $0.bind(1, number) })
    }

    package func openObligationTotals(
        through: Timestamp,
        watermark: Int64
    ) throws -> (
        totals: [ObligationTotal], batches: [BatchReference]
    ) {
        try writer.drain()
        // Cycles only move forward: each cut-off is after the last one's and each watermark is
        // at least the last one's, so the obligations every earlier cycle took are exactly
        // those the last cycle's window covers. One pass, no test against each cycle.
        var lastWatermark: Int64 = 0
        var lastThrough = Int64.min
        let last = try database.statement("SELECT watermark, through FROM cycles ORDER BY number DESC LIMIT 1")
        if try last.step() {
            lastWatermark = last.int64(0)
            lastThrough = last.int64(1)
        }
        last.reset()
        let rows = try database.statement(
            """
            SELECT batch, debtor, creditor, currency, sum(amount), sum(points), count(*) FROM obligations
            WHERE id <= ?1 AND occurred <= ?2 AND (id > ?3 OR occurred > ?4)
            GROUP BY batch, debtor, creditor, currency
            """
        )
        defer { rows.reset() }  // ends the read: no snapshot is kept open
        rows.bind(1, watermark)
        rows.bind(2, through.seconds)
        rows.bind(3, lastWatermark)
        rows.bind(4, lastThrough)
        var sums = OpenObligationSums()
        while try rows.step() {
            try sums.add(
                batch: rows.int64(0),
                debtor: rows.string(1),
                creditor: rows.string(2),
                currency: rows.string(3),
                amount: rows.int64(4),
                points: rows.int64(5),
                count: Int(rows.int64(6))
            )
        }
        let batch = try database.statement(
            "SELECT partner, sequence FROM batches WHERE id = ? AND sequence IS NOT NULL"
        )
        var references: [BatchReference] = []
        for id in sums.parties.keys {
            batch.bind(1, id)
            defer { batch.reset() }
            guard try batch.step(),
                let reference = try sums.reference(batch: id, partner: batch.string(0), sequence: batch.int64(1))
            else { continue }
            references.append(reference)
        }
        references.sort { ($0.partner, $0.sequence) < ($1.partner, $1.sequence) }
        return (try sums.totals(), references)
    }

    package func cycles() throws -> [ClearingCycle] {
        try writer.drain()
        let heads = try database.statement("SELECT \(StoreSQL.cycleHeadColumns) FROM cycles ORDER BY number")
        defer { heads.reset() }  // ends the read: no snapshot is kept open
        var cycles: [ClearingCycle] = []
        while try heads.step() {
            let number = heads.int64(0)
            var rows = CycleRows()
            try read("SELECT \(CycleRows.grossColumns) FROM cycle_gross WHERE cycle = ?", number) {
                try rows.addGross($0)
            }
            try read("SELECT \(CycleRows.netColumns) FROM cycle_net WHERE cycle = ?", number) { try rows.addNet($0) }
            try read(
                "SELECT \(CycleRows.instructionColumns) FROM cycle_instructions WHERE cycle = ? ORDER BY form, ordinal",
                number
            ) { try rows.addInstruction($0) }
            try read(
                "SELECT \(CycleRows.batchColumns) FROM cycle_batches WHERE cycle = ? ORDER BY partner, sequence",
                number
            ) { try rows.addBatch($0) }
            cycles.append(try rows.cycle(head: heads))
        }
        return cycles
    }

    /// Runs `sql` with `value` bound to its one parameter, `body` on each row.
    private func read(_ sql: String, _ value: Int64, _ body: (Statement) throws -> Void) throws {
        let s = try database.statement(sql)
        defer { s.reset() }  // ends the read: no snapshot is kept open
        s.bind(1, value)
        while try s.step() { try body(s) }
    }

    func readObligations(_ filter: String, bind: (Statement) -> Void) throws -> [Obligation] {
        try writer.drain()
        let s = try database.statement("SELECT \(StoreSQL.obligationColumns) FROM obligations o \(filter) ORDER BY id")
        defer { s.reset() }  // ends the read: no snapshot is kept open
        bind(s)
        var out: [Obligation] = []
        var currencies: [String: Currency] = [:]
        while try s.step() { out.append(try StoredRows.obligation(s, currencies: &currencies)) }
        return out
    }
}
