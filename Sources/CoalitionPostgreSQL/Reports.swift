import CoalitionKit

/// The store's answers for reports, statements, replays and cycles: the SQLite store's
/// queries, in PostgreSQL's dialect.
extension PostgreSQLStore {
    public func tierChanges(member: MemberNumber) throws -> [TierChange] {
        let rows = try connection.query(
            "SELECT at, from_tier, to_tier, reason FROM tier_changes WHERE member = $1 ORDER BY ordinal",
            [String(Int64(bitPattern: member.value))]
        )
        return (0..<rows.count).map { row in
            TierChange(
                member: member,
                at: Timestamp(seconds: rows.int64(row, 0)),
                from: rows.string(row, 1),
                to: rows.string(row, 2),
                reason: rows.string(row, 3)
            )
        }
    }

    public func postings(member: MemberNumber, in range: ClosedRange<Timestamp>) throws -> [Posting] {
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

    public func batch(partner: PartnerID, sequence: Int64) throws -> BatchSummary? {
        let rows = try connection.query(
            """
            SELECT id, source, received_at, records, accepted, rejected, first_seq, last_seq, file_signature,
                file_created_at, ack_key_id, ack_created_at, ack_signature
            FROM batches WHERE partner = $1 AND sequence = $2
            """,
            [partner.rawValue, String(sequence)]
        )
        guard rows.count > 0 else { return nil }
        var summary = BatchSummary(
            id: rows.int64(0, 0),
            info: BatchInfo(
                partner: partner,
                sequence: sequence,
                source: rows.string(0, 1),
                receivedAt: Timestamp(seconds: rows.int64(0, 2))
            )
        )
        summary.records = Int(rows.int64(0, 3))
        summary.accepted = Int(rows.int64(0, 4))
        summary.rejected = Int(rows.int64(0, 5))
        summary.firstSeq = rows.optionalInt64(0, 6)
        summary.lastSeq = rows.optionalInt64(0, 7)
        summary.fileSignature = rows.optionalString(0, 8)
        summary.fileCreatedAt = rows.optionalInt64(0, 9).map { Timestamp(seconds: $0) }
        summary.ackKeyID = rows.optionalString(0, 10)
        summary.ackCreatedAt = rows.optionalInt64(0, 11).map { Timestamp(seconds: $0) }
        summary.ackSignature = rows.optionalString(0, 12)
        return summary
    }

    public func lastSequence(partner: PartnerID) throws -> Int64 {
        try connection.integer("SELECT coalesce(max(sequence), 0) FROM batches WHERE partner = $1", [partner.rawValue])
            ?? 0
    }

    public func rejections(batch: Int64) throws -> [Rejection] {
        let rows = try connection.query(
            "SELECT line, record_id, code, message FROM rejections WHERE batch = $1 ORDER BY line, ordinal",
            [String(batch)]
        )
        return (0..<rows.count).map { row in
            Rejection(
                line: Int(rows.int64(row, 0)),
                recordID: rows.string(row, 1),
                code: ReasonCode(rows.string(row, 2)),
                message: rows.string(row, 3)
            )
        }
    }

    /// The cycle an obligation row belongs to, in SQL: the first whose window covers it.
    static let cycleOfObligation =
        "(SELECT min(c.number) FROM cycles c WHERE o.id <= c.watermark AND o.occurred <= c.through)"

    public func obligations(openOnly: Bool) throws -> [Obligation] {
        try readObligations(openOnly ? "WHERE \(PostgreSQLStore.cycleOfObligation) IS NULL" : "", [])
    }

    public func obligations(causedBy member: MemberNumber) throws -> [Obligation] {
        try readObligations("WHERE member = $1", [String(Int64(bitPattern: member.value))])
    }

    public func obligations(creditor: PartnerID) throws -> [Obligation] {
        try readObligations("WHERE creditor = $1", [creditor.rawValue])
    }

    public func obligations(cycle number: Int64) throws -> [Obligation] {
        try readObligations("WHERE \(PostgreSQLStore.cycleOfObligation) = $1", [String(number)])
    }

    private func readObligations(_ filter: String, _ parameters: [String?]) throws -> [Obligation] {
        var out: [Obligation] = []
        var currencies: [String: Currency] = [:]
        try readOnly {
            try connection.forEachRow(
                """
                SELECT id, posting, debtor, creditor, currency, amount, points, occurred, source_partner,
                    source_record, member, batch, \(PostgreSQLStore.cycleOfObligation) FROM obligations o \(filter)
                ORDER BY id
                """,
                parameters
            ) { rows, row in
                let code = rows.string(row, 4)
                let currency = try currencies[code] ?? Currency(code: code)
                currencies[code] = currency
                out.append(
                    Obligation(
                        id: rows.int64(row, 0),
                        postingSeq: rows.int64(row, 1),
                        batch: rows.int64(row, 11),
                        debtor: try PartnerID(rows.string(row, 2)),
                        creditor: try PartnerID(rows.string(row, 3)),
                        currency: currency,
                        amount: rows.int64(row, 5),
                        points: rows.int64(row, 6),
                        occurredAt: Timestamp(seconds: rows.int64(row, 7)),
                        source: try RecordKey(
                            partner: PartnerID(stored: rows.string(row, 8)),
                            recordID: rows.string(row, 9)
                        ),
                        member: try MemberNumber(stored: rows.int64(row, 10)),
                        cycle: rows.optionalInt64(row, 12)
                    )
                )
            }
        }
        return out
    }

    public func openObligationTotals(
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
        struct Pair: Hashable {
            let debtor: String
            let creditor: String
            let currency: String
        }
        func exact(_ row: Int, _ column: Int) throws -> Int64 {
            guard let value = Int64(rows.string(row, column)) else {
                throw CoalitionError(.overflow, "a sum of open obligations does not fit 64 bits")
            }
            return value
        }
        var sums: [Pair: (amount: Int64, points: Int64, count: Int)] = [:]
        var parties: [Int64: Set<String>] = [:]
        for row in 0..<rows.count {
            let pair = Pair(debtor: rows.string(row, 1), creditor: rows.string(row, 2), currency: rows.string(row, 3))
            let sum = sums[pair] ?? (0, 0, 0)
            sums[pair] = (
                try Checked.add(sum.amount, exact(row, 4)), try Checked.add(sum.points, exact(row, 5)),
                sum.count + Int(rows.int64(row, 6))
            )
            parties[rows.int64(row, 0), default: []].formUnion([pair.debtor, pair.creditor])
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
        var references: [BatchReference] = []
        let ids = parties.keys.sorted()
        let batches = try connection.query(
            "SELECT id, partner, sequence FROM batches WHERE id = ANY($1::bigint[]) AND sequence IS NOT NULL",
            [ArrayLiteral.integers(ids)]
        )
        for row in 0..<batches.count {
            guard let names = parties[batches.int64(row, 0)] else { continue }
            references.append(
                BatchReference(
                    partner: try PartnerID(batches.string(row, 1)),
                    sequence: batches.int64(row, 2),
                    counterparties: Set(try names.map { try PartnerID($0) })
                )
            )
        }
        references.sort { ($0.partner, $0.sequence) < ($1.partner, $1.sequence) }
        return (totals, references)
    }

    public func cycles() throws -> [ClearingCycle] {
        try readOnly { try readCycles() }
    }

    private func readCycles() throws -> [ClearingCycle] {
        let heads = try connection.query(
            "SELECT number, through, closed_at, watermark, obligations, posting_seq FROM cycles ORDER BY number"
        )
        return try (0..<heads.count).map { head in
            let number = heads.int64(head, 0)
            let parameter = [String(number)]
            var gross: [String: [PartnerID: [PartnerID: Int64]]] = [:]
            let g = try connection.query(
                "SELECT currency, debtor, creditor, amount FROM cycle_gross WHERE cycle = $1",
                parameter
            )
            for row in 0..<g.count {
                gross[g.string(row, 0), default: [:]][try PartnerID(g.string(row, 1)), default: [:]][
                    try PartnerID(g.string(row, 2))
                ] = g.int64(row, 3)
            }
            var net: [String: [Participant: Int64]] = [:]
            var fees: [String: [PartnerID: Int64]] = [:]
            let n = try connection.query(
                "SELECT currency, participant, amount, fee FROM cycle_net WHERE cycle = $1",
                parameter
            )
            for row in 0..<n.count {
                let participant = try PostgreSQLStore.participant(n.string(row, 1))
                if n.int64(row, 2) != 0 { net[n.string(row, 0), default: [:]][participant] = n.int64(row, 2) }
                if case .partner(let id) = participant, n.int64(row, 3) != 0 {
                    fees[n.string(row, 0), default: [:]][id] = n.int64(row, 3)
                }
            }
            var instructions: [String: [String: [SettlementInstruction]]] = [:]
            let i = try connection.query(
                "SELECT form, currency, payer, payee, amount FROM cycle_instructions WHERE cycle = $1 ORDER BY form, ordinal",
                parameter
            )
            for row in 0..<i.count {
                let currency = try Currency(code: i.string(row, 1))
                instructions[i.string(row, 1), default: [:]][i.string(row, 0), default: []].append(
                    SettlementInstruction(
                        currency: currency,
                        payer: try PostgreSQLStore.participant(i.string(row, 2)),
                        payee: try PostgreSQLStore.participant(i.string(row, 3)),
                        amount: i.int64(row, 4)
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
            let b = try connection.query(
                "SELECT partner, sequence, counterparties FROM cycle_batches WHERE cycle = $1 ORDER BY partner, sequence",
                parameter
            )
            let batches = try (0..<b.count).map { row in
                BatchReference(
                    partner: try PartnerID(b.string(row, 0)),
                    sequence: b.int64(row, 1),
                    counterparties: Set(try b.string(row, 2).split(separator: ",").map { try PartnerID(String($0)) })
                )
            }
            return ClearingCycle(
                number: number,
                through: Timestamp(seconds: heads.int64(head, 1)),
                closedAt: Timestamp(seconds: heads.int64(head, 2)),
                watermark: heads.int64(head, 3),
                obligationCount: Int(heads.int64(head, 4)),
                postingSeq: heads.int64(head, 5),
                clearings: clearings,
                batches: batches
            )
        }
    }

    static func participant(_ text: String) throws -> Participant {
        text == Participant.clearingHouseName ? .clearingHouse : .partner(try PartnerID(text))
    }
}
