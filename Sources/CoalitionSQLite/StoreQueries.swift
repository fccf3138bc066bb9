import CoalitionKit
import Foundation

/// What the store answers besides the engine's own reads: members' tier changes and
/// postings, batches and their rejections, obligations and clearing cycles (for reports,
/// statements, reconciliation and the audit).
extension SQLiteStore {
    public func expiredLot(_ id: Int64) throws -> ExpiredLot? {
        if let batch = openBatch, let lot = batch.expiredLots[id] { return lot }
        // An expired lot the open batch did not change is as it was committed.
        let source = try connection(committed: openBatch != nil)
        let s = try source.statement(
            "SELECT member, issuer, points, expired_at, reversed FROM expired_lots WHERE id = ?"
        )
        defer { s.reset() }  // ends the read: no snapshot is kept open
        s.bind(1, id)
        guard try s.step() else { return nil }
        return ExpiredLot(
            lotID: id,
            member: try MemberNumber(stored: s.int64(0)),
            issuer: try PartnerID(s.string(1)),
            points: s.int64(2),
            expiredAt: Timestamp(seconds: s.int64(3)),
            reversed: s.int64(4)
        )
    }

    public func tierChanges(member: MemberNumber) throws -> [TierChange] {
        try writer.drain()
        let s = try database.statement(
            "SELECT at, from_tier, to_tier, reason FROM tier_changes WHERE member = ? ORDER BY rowid"
        )
        defer { s.reset() }  // ends the read: no snapshot is kept open
        s.bind(1, Int64(bitPattern: member.value))
        var out: [TierChange] = []
        while try s.step() {
            out.append(
                TierChange(
                    member: member,
                    at: Timestamp(seconds: s.int64(0)),
                    from: s.string(1),
                    to: s.string(2),
                    reason: s.string(3)
                )
            )
        }
        return out
    }

    public func postings(member: MemberNumber, in range: ClosedRange<Timestamp>) throws -> [Posting] {
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

    public func batch(partner: PartnerID, sequence: Int64) throws -> BatchSummary? {
        try writer.drain()
        let s = try database.statement(
            """
            SELECT id, source, received_at, records, accepted, rejected, first_seq, last_seq, file_signature,
                file_created_at, ack_key_id, ack_created_at, ack_signature
            FROM batches WHERE partner = ? AND sequence = ?
            """
        )
        defer { s.reset() }  // ends the read: no snapshot is kept open
        s.bind(1, partner.rawValue)
        s.bind(2, sequence)
        guard try s.step() else { return nil }
        var summary = BatchSummary(
            id: s.int64(0),
            info: BatchInfo(
                partner: partner,
                sequence: sequence,
                source: s.string(1),
                receivedAt: Timestamp(seconds: s.int64(2))
            )
        )
        summary.records = Int(s.int64(3))
        summary.accepted = Int(s.int64(4))
        summary.rejected = Int(s.int64(5))
        summary.firstSeq = s.optionalInt64(6)
        summary.lastSeq = s.optionalInt64(7)
        summary.fileSignature = s.optionalString(8)
        summary.fileCreatedAt = s.optionalInt64(9).map { Timestamp(seconds: $0) }
        summary.ackKeyID = s.optionalString(10)
        summary.ackCreatedAt = s.optionalInt64(11).map { Timestamp(seconds: $0) }
        summary.ackSignature = s.optionalString(12)
        return summary
    }

    public func lastSequence(partner: PartnerID) throws -> Int64 {
        try writer.drain()
        let s = try database.statement("SELECT coalesce(max(sequence), 0) FROM batches WHERE partner = ?")
        s.bind(1, partner.rawValue)
        return try s.step() ? s.int64(0) : 0
    }

    public func rejections(batch: Int64) throws -> [Rejection] {
        try writer.drain()
        let s = try database.statement(
            "SELECT line, record_id, code, message FROM rejections WHERE batch = ? ORDER BY line, rowid"
        )
        defer { s.reset() }  // ends the read: no snapshot is kept open
        s.bind(1, batch)
        var out: [Rejection] = []
        while try s.step() {
            out.append(
                Rejection(
                    line: Int(s.int64(0)),
                    recordID: s.string(1),
                    code: ReasonCode(s.string(2)),
                    message: s.string(3)
                )
            )
        }
        return out
    }

    /// The cycle an obligation row belongs to, in SQL: the first whose window covers it.
    static let cycleOfObligation =
        "(SELECT min(c.number) FROM cycles c WHERE o.id <= c.watermark AND o.occurred <= c.through)"

    public func obligations(openOnly: Bool) throws -> [Obligation] {
        try readObligations(openOnly ? "WHERE \(SQLiteStore.cycleOfObligation) IS NULL" : "", bind: { _ in })
    }

    public func obligations(causedBy member: MemberNumber) throws -> [Obligation] {
        try readObligations("WHERE member = ?", bind: { $0.bind(1, Int64(bitPattern: member.value)) })
    }

    public func obligations(creditor: PartnerID) throws -> [Obligation] {
        try readObligations("WHERE creditor = ?", bind: { $0.bind(1, creditor.rawValue) })
    }

    public func obligations(cycle number: Int64) throws -> [Obligation] {
        try readObligations("WHERE \(SQLiteStore.cycleOfObligation) = ?", bind: { $0.bind(1, number) })
    }

    public func openObligationTotals(
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
        struct Pair: Hashable {
            let debtor: String
            let creditor: String
            let currency: String
        }
        var sums: [Pair: (amount: Int64, points: Int64, count: Int)] = [:]
        var parties: [Int64: Set<String>] = [:]
        while try rows.step() {
            let pair = Pair(debtor: rows.string(1), creditor: rows.string(2), currency: rows.string(3))
            let sum = sums[pair] ?? (0, 0, 0)
            sums[pair] = (
                try Checked.add(sum.amount, rows.int64(4)), try Checked.add(sum.points, rows.int64(5)),
                sum.count + Int(rows.int64(6))
            )
            parties[rows.int64(0), default: []].formUnion([pair.debtor, pair.creditor])
        }
        var totals: [ObligationTotal] = []
        for (pair, sum) in sums.sorted(by: {
            ($0.key.debtor, $0.key.creditor, $0.key.currency) < ($1.key.debtor, $1.key.creditor, $1.key.currency)
        }) {
            totals.append(
                ObligationTotal(
                    debtor: try PartnerID(pair.debtor),
                    creditor: try PartnerID(pair.creditor),
                    currency: try Currency(code: pair.currency),
                    amount: sum.amount,
                    points: sum.points,
                    count: sum.count
                )
            )
        }
        let batch = try database.statement(
            "SELECT partner, sequence FROM batches WHERE id = ? AND sequence IS NOT NULL"
        )
        var references: [BatchReference] = []
        for (id, names) in parties {
            batch.bind(1, id)
            defer { batch.reset() }
            guard try batch.step() else { continue }
            references.append(
                BatchReference(
                    partner: try PartnerID(batch.string(0)),
                    sequence: batch.int64(1),
                    counterparties: Set(try names.map { try PartnerID($0) })
                )
            )
        }
        references.sort { ($0.partner, $0.sequence) < ($1.partner, $1.sequence) }
        return (totals, references)
    }

    public func cycles() throws -> [ClearingCycle] {
        try writer.drain()
        let rows = try database.statement(
            "SELECT number, through, closed_at, watermark, obligations, posting_seq FROM cycles ORDER BY number"
        )
        var heads: [(Int64, Timestamp, Timestamp, Int64, Int, Int64)] = []
        while try rows.step() {
            heads.append(
                (
                    rows.int64(0), Timestamp(seconds: rows.int64(1)), Timestamp(seconds: rows.int64(2)), rows.int64(3),
                    Int(rows.int64(4)), rows.int64(5)
                )
            )
        }
        return try heads.map { head in
            let number = head.0
            var gross: [String: [PartnerID: [PartnerID: Int64]]] = [:]
            let g = try database.statement("SELECT currency, debtor, creditor, amount FROM cycle_gross WHERE cycle = ?")
            g.bind(1, number)
            while try g.step() {
                gross[g.string(0), default: [:]][try PartnerID(g.string(1)), default: [:]][try PartnerID(g.string(2))] =
                    g.int64(3)
            }
            var net: [String: [Participant: Int64]] = [:]
            var fees: [String: [PartnerID: Int64]] = [:]
            let n = try database.statement("SELECT currency, participant, amount, fee FROM cycle_net WHERE cycle = ?")
            n.bind(1, number)
            while try n.step() {
                let participant = try SQLiteStore.participant(n.string(1))
                if n.int64(2) != 0 { net[n.string(0), default: [:]][participant] = n.int64(2) }
                if case .partner(let id) = participant, n.int64(3) != 0 {
                    fees[n.string(0), default: [:]][id] = n.int64(3)
                }
            }
            var instructions: [String: [String: [SettlementInstruction]]] = [:]
            let i = try database.statement(
                "SELECT form, currency, payer, payee, amount FROM cycle_instructions WHERE cycle = ? ORDER BY form, ordinal"
            )
            i.bind(1, number)
            while try i.step() {
                let currency = try Currency(code: i.string(1))
                instructions[i.string(1), default: [:]][i.string(0), default: []].append(
                    SettlementInstruction(
                        currency: currency,
                        payer: try SQLiteStore.participant(i.string(2)),
                        payee: try SQLiteStore.participant(i.string(3)),
                        amount: i.int64(4)
                    )
                )
            }
            let codes = Set(gross.keys).union(net.keys).sorted()
            let clearings = try codes.map { code in
                CurrencyClearing(
                    currency: try Currency(code: code),
                    gross: gross[code] ?? [:],
                    net: net[code] ?? [:],
                    fees: fees[code] ?? [:],
                    centralCounterparty: instructions[code]?["ccp"] ?? [],
                    fewestPayments: instructions[code]?["direct"] ?? []
                )
            }
            var batches: [BatchReference] = []
            let b = try database.statement(
                "SELECT partner, sequence, counterparties FROM cycle_batches WHERE cycle = ? ORDER BY partner, sequence"
            )
            b.bind(1, number)
            while try b.step() {
                batches.append(
                    BatchReference(
                        partner: try PartnerID(b.string(0)),
                        sequence: b.int64(1),
                        counterparties: Set(try b.string(2).split(separator: ",").map { try PartnerID(String($0)) })
                    )
                )
            }
            return ClearingCycle(
                number: number,
                through: head.1,
                closedAt: head.2,
                watermark: head.3,
                obligationCount: head.4,
                postingSeq: head.5,
                clearings: clearings,
                batches: batches
            )
        }
    }

    static func participant(_ text: String) throws -> Participant {
        text == Participant.clearingHouseName ? .clearingHouse : .partner(try PartnerID(text))
    }

    func readObligations(_ filter: String, bind: (Statement) -> Void) throws -> [Obligation] {
        try writer.drain()
        let s = try database.statement(
            """
            SELECT id, posting, debtor, creditor, currency, amount, points, occurred, source_partner,
                source_record, member, batch, \(SQLiteStore.cycleOfObligation) FROM obligations o \(filter) ORDER BY id
            """
        )
        defer { s.reset() }  // ends the read: no snapshot is kept open
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
                    batch: s.int64(11),
                    debtor: try PartnerID(s.string(2)),
                    creditor: try PartnerID(s.string(3)),
                    currency: currency,
                    amount: s.int64(5),
                    points: s.int64(6),
                    occurredAt: Timestamp(seconds: s.int64(7)),
                    source: try RecordKey(partner: PartnerID(stored: s.string(8)), recordID: s.string(9)),
                    member: try MemberNumber(stored: s.int64(10)),
                    cycle: s.optionalInt64(12)
                )
            )
        }
        return out
    }
}
