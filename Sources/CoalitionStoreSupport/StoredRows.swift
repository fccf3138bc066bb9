import CoalitionKit

// What the SQLite and PostgreSQL stores share: the ledger's rows decoded into its values,
// the SQL text that is the same in both dialects, and the sums and shapes built from rows.
// Each store reads its rows its own way (a SQLite statement, a libpq result) and hands
// them here as a `StoredRow`.

/// One row of a query's result, its columns numbered from 0.
package protocol StoredRow {
    func int64(at column: Int) -> Int64
    func optionalInt64(at column: Int) -> Int64?
    func string(at column: Int) -> String
    func optionalString(at column: Int) -> String?
    func bytes(at column: Int) -> [UInt8]
}

/// SQL text that both stores run as it is, and how an error shows SQL.
package enum StoreSQL {
    /// A posting's columns, in the order `StoredRows.posting` reads them.
    package static let postingColumns =
        "seq, batch, kind, partner, record_id, member, occurred, units, points, legs, detail, hash, counterparty"

    /// The cycle an obligation row (`o`) belongs to: the first whose window covers it.
    package static let cycleOfObligation =
        "(SELECT min(c.number) FROM cycles c WHERE o.id <= c.watermark AND o.occurred <= c.through)"

    /// An obligation's columns, in the order `StoredRows.obligation` reads them.
    package static let obligationColumns = """
        id, posting, debtor, creditor, currency, amount, points, occurred, source_partner, source_record, member, \
        batch, \(cycleOfObligation)
        """

    /// A batch row's columns after its partner and sequence, in the order
    /// `StoredRows.batchSummary` reads them.
    package static let batchColumns = """
        id, source, received_at, records, accepted, rejected, first_seq, last_seq, file_signature, \
        file_created_at, ack_key_id, ack_created_at, ack_signature
        """

    /// An expired lot's columns after its id, in the order `StoredRows.expiredLot` reads them.
    package static let expiredLotColumns = "member, issuer, points, expired_at, reversed"

    /// A cycle's head columns, in the order `CycleRows.cycle(head:)` reads them.
    package static let cycleHeadColumns = "number, through, closed_at, watermark, obligations, posting_seq"

    /// The SQL an error names: its first 300 characters on one line (never the values bound
    /// to it, which may be secrets).
    package static func shown(_ sql: String) -> String {
        let line = sql.split(whereSeparator: \.isNewline).map { $0.trimmingPrefix(while: \.isWhitespace) }
            .joined(separator: " ")
        return line.count > 300 ? String(line.prefix(300)) + "…" : line
    }
}

/// The ledger's values from its rows.
package enum StoredRows {
    /// The posting in `row` (`StoreSQL.postingColumns`). Readers that use the legs (audit,
    /// statements) check that they parse; the engine reading back the posting a reversal
    /// undoes needs only its record and detail. A row that does not decode is a
    /// `STORE_FAILURE`: the store holds what no Coalition wrote.
    package static func posting(_ row: some StoredRow, validatingLegs: Bool = true) throws -> Posting {
        let seq = row.int64(at: 0)
        let kind = try kind(row.int64(at: 2), seq: seq)
        let legsText = row.string(at: 9)
        if validatingLegs && Posting.decodeLegs(legsText) == nil {
            throw CoalitionError(.storeFailure, "posting \(seq) has legs that do not parse")
        }
        return Posting(
            seq: seq,
            batch: row.int64(at: 1),
            kind: kind,
            partner: try row.optionalString(at: 3).map { try PartnerID(stored: $0) },
            recordID: row.optionalString(at: 4),
            member: try row.optionalInt64(at: 5).map { try MemberNumber(stored: $0) },
            occurredAt: Timestamp(seconds: row.int64(at: 6)),
            units: row.int64(at: 7),
            points: row.int64(at: 8),
            legsText: legsText,
            detail: row.string(at: 10),
            hash: row.bytes(at: 11),
            counterparty: try row.optionalInt64(at: 12).map { try MemberNumber(stored: $0) }
        )
    }

    /// A stored posting kind; one no Coalition writes is a `STORE_FAILURE`.
    package static func kind(_ stored: Int64, seq: Int64) throws -> PostingKind {
        guard let kind = PostingKind(rawValue: Int(stored)) else {
            throw CoalitionError(.storeFailure, "posting \(seq) has an unknown kind \(stored)")
        }
        return kind
    }

    /// The record a posting applied, from `partner, record_id, kind, units, reversed units`.
    package static func appliedRecord(_ row: some StoredRow, seq: Int64) throws -> AppliedRecord {
        AppliedRecord(
            key: RecordKey(stored: try PartnerID(stored: row.string(at: 0)), row.string(at: 1)),
            entry: RecordEntry(
                seq: seq,
                kind: try kind(row.int64(at: 2), seq: seq),
                units: row.int64(at: 3),
                reversedUnits: row.int64(at: 4)
            )
        )
    }

    /// The record `posting` applied, if it has one, with `reversedUnits`.
    package static func appliedRecord(of posting: Posting, reversedUnits: Int64) -> AppliedRecord? {
        posting.recordKey.map { key in
            AppliedRecord(
                key: key,
                entry: RecordEntry(
                    seq: posting.seq,
                    kind: posting.kind,
                    units: posting.units,
                    reversedUnits: reversedUnits
                )
            )
        }
    }

    /// The obligation in `row` (`StoreSQL.obligationColumns`); `currencies` keeps the
    /// currencies already made, so a long list makes each once.
    package static func obligation(_ row: some StoredRow, currencies: inout [String: Currency]) throws -> Obligation {
        let code = row.string(at: 4)
        let currency = try currencies[code] ?? Currency(code: code)
        currencies[code] = currency
        return Obligation(
            id: row.int64(at: 0),
            postingSeq: row.int64(at: 1),
            batch: row.int64(at: 11),
            debtor: try PartnerID(row.string(at: 2)),
            creditor: try PartnerID(row.string(at: 3)),
            currency: currency,
            amount: row.int64(at: 5),
            points: row.int64(at: 6),
            occurredAt: Timestamp(seconds: row.int64(at: 7)),
            source: try RecordKey(partner: PartnerID(stored: row.string(at: 8)), recordID: row.string(at: 9)),
            member: try MemberNumber(stored: row.int64(at: 10)),
            cycle: row.optionalInt64(at: 12)
        )
    }

    /// The batch row in `row` (`StoreSQL.batchColumns`) of `partner`'s batch `sequence`.
    package static func batchSummary(_ row: some StoredRow, partner: PartnerID, sequence: Int64) -> BatchSummary {
        var summary = BatchSummary(
            id: row.int64(at: 0),
            info: BatchInfo(
                partner: partner,
                sequence: sequence,
                source: row.string(at: 1),
                receivedAt: Timestamp(seconds: row.int64(at: 2))
            )
        )
        summary.records = Int(row.int64(at: 3))
        summary.accepted = Int(row.int64(at: 4))
        summary.rejected = Int(row.int64(at: 5))
        summary.firstSeq = row.optionalInt64(at: 6)
        summary.lastSeq = row.optionalInt64(at: 7)
        summary.fileSignature = row.optionalString(at: 8)
        summary.fileCreatedAt = row.optionalInt64(at: 9).map { Timestamp(seconds: $0) }
        summary.ackKeyID = row.optionalString(at: 10)
        summary.ackCreatedAt = row.optionalInt64(at: 11).map { Timestamp(seconds: $0) }
        summary.ackSignature = row.optionalString(at: 12)
        return summary
    }

    /// A tier change of `member` from `at, from_tier, to_tier, reason`.
    package static func tierChange(_ row: some StoredRow, member: MemberNumber) -> TierChange {
        TierChange(
            member: member,
            at: Timestamp(seconds: row.int64(at: 0)),
            from: row.string(at: 1),
            to: row.string(at: 2),
            reason: row.string(at: 3)
        )
    }

    /// A rejection from `line, record_id, code, message`.
    package static func rejection(_ row: some StoredRow) -> Rejection {
        Rejection(
            line: Int(row.int64(at: 0)),
            recordID: row.string(at: 1),
            code: ReasonCode(row.string(at: 2)),
            message: row.string(at: 3)
        )
    }

    /// Expired lot `id` from `member, issuer, points, expired_at, reversed`.
    package static func expiredLot(_ row: some StoredRow, id: Int64) throws -> ExpiredLot {
        ExpiredLot(
            lotID: id,
            member: try MemberNumber(stored: row.int64(at: 0)),
            issuer: try PartnerID(row.string(at: 1)),
            points: row.int64(at: 2),
            expiredAt: Timestamp(seconds: row.int64(at: 3)),
            reversed: row.int64(at: 4)
        )
    }

    /// A cycle participant as stored: the clearing house's name, or a partner id.
    package static func participant(_ text: String) throws -> Participant {
        text == Participant.clearingHouseName ? .clearingHouse : .partner(try PartnerID(text))
    }
}

/// The open obligations' sums per debtor, creditor and currency, added up from the rows a
/// store groups by batch as well, and the batches they came from.
package struct OpenObligationSums {
    private struct Pair: Hashable {
        let debtor: String
        let creditor: String
        let currency: String
    }
    private var sums: [Pair: (amount: Int64, points: Int64, count: Int)] = [:]
    /// The partners each batch's obligations involve, by batch id.
    package private(set) var parties: [Int64: Set<String>] = [:]

    package init() {}

    /// Adds one group's sums.
    package mutating func add(
        batch: Int64,
        debtor: String,
        creditor: String,
        currency: String,
        amount: Int64,
        points: Int64,
        count: Int
    ) throws {
        let pair = Pair(debtor: debtor, creditor: creditor, currency: currency)
        let sum = sums[pair] ?? (0, 0, 0)
        sums[pair] = (try Checked.add(sum.amount, amount), try Checked.add(sum.points, points), sum.count + count)
        parties[batch, default: []].formUnion([debtor, creditor])
    }

    /// The totals, by debtor, creditor and currency.
    package func totals() throws -> [ObligationTotal] {
        try sums.sorted(by: {
            ($0.key.debtor, $0.key.creditor, $0.key.currency) < ($1.key.debtor, $1.key.creditor, $1.key.currency)
        }).map { pair, sum in
            ObligationTotal(
                debtor: try PartnerID(pair.debtor),
                creditor: try PartnerID(pair.creditor),
                currency: try Currency(code: pair.currency),
                amount: sum.amount,
                points: sum.points,
                count: sum.count
            )
        }
    }

    /// The reference of batch `id` (a partner's `sequence`), with the partners its
    /// obligations involve; nil for a batch with no obligation among the sums.
    package func reference(batch id: Int64, partner: String, sequence: Int64) throws -> BatchReference? {
        guard let names = parties[id] else { return nil }
        return BatchReference(
            partner: try PartnerID(partner),
            sequence: sequence,
            counterparties: Set(try names.map { try PartnerID($0) })
        )
    }
}

/// A closed cycle put together from its rows: gross, net, instructions and batches.
package struct CycleRows {
    private var gross: [String: [PartnerID: [PartnerID: Int64]]] = [:]
    private var net: [String: [Participant: Int64]] = [:]
    private var fees: [String: [PartnerID: Int64]] = [:]
    private var instructions: [String: [String: [SettlementInstruction]]] = [:]
    private var batches: [BatchReference] = []

    package init() {}

    /// `currency, debtor, creditor, amount` of `cycle_gross`.
    package static let grossColumns = "currency, debtor, creditor, amount"
    /// `currency, participant, amount, fee` of `cycle_net`.
    package static let netColumns = "currency, participant, amount, fee"
    /// `form, currency, payer, payee, amount` of `cycle_instructions`, in `form, ordinal` order.
    package static let instructionColumns = "form, currency, payer, payee, amount"
    /// `partner, sequence, counterparties` of `cycle_batches`, in `partner, sequence` order.
    package static let batchColumns = "partner, sequence, counterparties"

    package mutating func addGross(_ row: some StoredRow) throws {
        gross[row.string(at: 0), default: [:]][try PartnerID(row.string(at: 1)), default: [:]][
            try PartnerID(row.string(at: 2))
        ] = row.int64(at: 3)
    }

    package mutating func addNet(_ row: some StoredRow) throws {
        let participant = try StoredRows.participant(row.string(at: 1))
        if row.int64(at: 2) != 0 { net[row.string(at: 0), default: [:]][participant] = row.int64(at: 2) }
        if case .partner(let id) = participant, row.int64(at: 3) != 0 {
            fees[row.string(at: 0), default: [:]][id] = row.int64(at: 3)
        }
    }

    package mutating func addInstruction(_ row: some StoredRow) throws {
        let currency = try Currency(code: row.string(at: 1))
        instructions[row.string(at: 1), default: [:]][row.string(at: 0), default: []].append(
            SettlementInstruction(
                currency: currency,
                payer: try StoredRows.participant(row.string(at: 2)),
                payee: try StoredRows.participant(row.string(at: 3)),
                amount: row.int64(at: 4)
            )
        )
    }

    package mutating func addBatch(_ row: some StoredRow) throws {
        batches.append(
            BatchReference(
                partner: try PartnerID(row.string(at: 0)),
                sequence: row.int64(at: 1),
                counterparties: Set(try row.string(at: 2).split(separator: ",").map { try PartnerID(String($0)) })
            )
        )
    }

    /// The cycle whose head row (`StoreSQL.cycleHeadColumns`) is `head`.
    package func cycle(head: some StoredRow) throws -> ClearingCycle {
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
        return ClearingCycle(
            number: head.int64(at: 0),
            through: Timestamp(seconds: head.int64(at: 1)),
            closedAt: Timestamp(seconds: head.int64(at: 2)),
            watermark: head.int64(at: 3),
            obligationCount: Int(head.int64(at: 4)),
            postingSeq: head.int64(at: 5),
            clearings: clearings,
            batches: batches
        )
    }
}
