import CoalitionKit

/// Writes one chunk of a batch into the open transaction: inserted rows (postings,
/// obligations, rejections, tier changes) as one binary `COPY` a table (`CopyBinary`), changed rows (members, lots,
/// balances, reversed units, expired lots, qualifying days) as one `INSERT … SELECT FROM
/// unnest(…) ON CONFLICT` a table with the chunk's values in array parameters. A chunk is a
/// dozen round trips however many rows it has, never one a row.
enum ChunkWriter {
    /// `lotCounter` is the highest lot id written so far (the `lot` counter): a lot above it
    /// is new and copied in; one at or below it is in the table and has its points updated.
    static func write(_ write: LedgerWrite, to connection: Connection, lotCounter: inout Int64) throws {
        try writeMembers(write, connection)
        try writeTierChanges(write, connection)
        try writeExpiredLots(write, connection)
        try writeReferrals(write, connection)
        try writePostings(write.postings, connection)
        try writeReversed(write, connection)
        try writeLots(write, connection, lotCounter: &lotCounter)
        try writeAccounts(write, connection)
        try writeObligations(write, connection)
        try writeRejections(write, connection)
        if let cycle = write.cycle { try self.write(cycle, to: connection) }
    }

    /// The members' tier changes, by `COPY`.
    private static func writeTierChanges(_ write: LedgerWrite, _ connection: Connection) throws {
        guard !write.tierChanges.isEmpty else { return }
        var copy = CopyBinary()
        for change in write.tierChanges {
            copy.add(Int64(bitPattern: change.member.value))
            copy.add(change.at.seconds)
            copy.add(change.from)
            copy.add(change.to)
            copy.add(change.reason)
            copy.endRow()
        }
        try connection.copy(
            "COPY tier_changes (member, at, from_tier, to_tier, reason) FROM STDIN WITH (FORMAT binary)",
            data: copy.finish()
        )
    }

    /// Expired lots made or changed.
    private static func writeExpiredLots(_ write: LedgerWrite, _ connection: Connection) throws {
        guard !write.expiredLots.isEmpty else { return }
        let lots = write.expiredLots.values.sorted { $0.lotID < $1.lotID }
        _ = try connection.query(
            """
            INSERT INTO expired_lots (id, member, issuer, points, expired_at, reversed)
            SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
            ON CONFLICT (id) DO UPDATE SET reversed = excluded.reversed, points = excluded.points
            """,
            [
                ArrayLiteral.integers(lots.map(\.lotID)),
                ArrayLiteral.integers(lots.map { Int64(bitPattern: $0.member.value) }),
                ArrayLiteral.texts(lots.map { $0.issuer.rawValue }),
                ArrayLiteral.integers(lots.map(\.points)),
                ArrayLiteral.integers(lots.map(\.expiredAt.seconds)),
                ArrayLiteral.integers(lots.map(\.reversed)),
            ]
        )
    }

    /// Referral links made or changed.
    private static func writeReferrals(_ write: LedgerWrite, _ connection: Connection) throws {
        guard !write.referrals.isEmpty else { return }
        let links = write.referrals.values.sorted { $0.member < $1.member }
        _ = try connection.query(
            """
            INSERT INTO referrals (member, referrer, linked_at, partner, bonus_seq, reversed)
            SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[])
            ON CONFLICT (member) DO UPDATE SET bonus_seq = excluded.bonus_seq, reversed = excluded.reversed
            """,
            [
                ArrayLiteral.integers(links.map { Int64(bitPattern: $0.member.value) }),
                ArrayLiteral.integers(links.map { Int64(bitPattern: $0.referrer.value) }),
                ArrayLiteral.integers(links.map(\.linkedAt.seconds)),
                ArrayLiteral.texts(links.map { $0.partner.rawValue }),
                ArrayLiteral.optionalIntegers(links.map(\.bonusSeq)),
                ArrayLiteral.integers(links.map { $0.isReversed ? 1 : 0 }),
            ]
        )
    }

    /// The reversed units of the records the chunk reversed, as they now stand.
    private static func writeReversed(_ write: LedgerWrite, _ connection: Connection) throws {
        guard !write.reversedUnits.isEmpty else { return }
        let pairs = write.reversedUnits.sorted { $0.key < $1.key }
        _ = try connection.query(
            """
            INSERT INTO reversed (seq, units) SELECT * FROM unnest($1::bigint[], $2::bigint[])
            ON CONFLICT (seq) DO UPDATE SET units = excluded.units
            """,
            [ArrayLiteral.integers(pairs.map(\.key)), ArrayLiteral.integers(pairs.map(\.value))]
        )
    }

    /// The balances the chunk changed.
    private static func writeAccounts(_ write: LedgerWrite, _ connection: Connection) throws {
        guard !write.accounts.isEmpty else { return }
        let pairs = write.accounts.sorted { $0.key < $1.key }
        _ = try connection.query(
            """
            INSERT INTO accounts (account, unit, balance)
            SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
            ON CONFLICT (account, unit) DO UPDATE SET balance = excluded.balance
            """,
            [
                ArrayLiteral.texts(pairs.map(\.key.account)), ArrayLiteral.texts(pairs.map(\.key.unit)),
                ArrayLiteral.integers(pairs.map(\.value)),
            ]
        )
    }

    /// The obligations the chunk caused, by `COPY`.
    private static func writeObligations(_ write: LedgerWrite, _ connection: Connection) throws {
        guard !write.obligations.isEmpty else { return }
        var copy = CopyBinary()
        for o in write.obligations {
            copy.add(o.id)
            copy.add(o.postingSeq)
            copy.add(o.debtor.rawValue)
            copy.add(o.creditor.rawValue)
            copy.add(o.currency.code)
            copy.add(o.amount)
            copy.add(o.points)
            copy.add(o.occurredAt.seconds)
            copy.add(o.source.partner.rawValue)
            copy.add(o.source.recordID)
            copy.add(Int64(bitPattern: o.member.value))
            copy.add(o.batch)
            copy.endRow()
        }
        try connection.copy(
            """
            COPY obligations (id, posting, debtor, creditor, currency, amount, points, occurred,
                source_partner, source_record, member, batch) FROM STDIN WITH (FORMAT binary)
            """,
            data: copy.finish()
        )
    }

    /// The records the chunk rejected, by `COPY`.
    private static func writeRejections(_ write: LedgerWrite, _ connection: Connection) throws {
        guard !write.rejections.isEmpty else { return }
        var copy = CopyBinary()
        for r in write.rejections {
            copy.add(write.batchID)
            copy.add(Int64(r.line))
            copy.add(r.recordID)
            copy.add(r.code.rawValue)
            copy.add(r.message)
            copy.endRow()
        }
        try connection.copy(
            "COPY rejections (batch, line, record_id, code, message) FROM STDIN WITH (FORMAT binary)",
            data: copy.finish()
        )
    }

    private static func writeMembers(_ write: LedgerWrite, _ connection: Connection) throws {
        let rows = write.memberRows.compactMap { write.members[$0] }.sorted { $0.number.value < $1.number.value }
        guard !rows.isEmpty else { return }
        _ = try connection.query(
            """
            INSERT INTO members (number, enrolled_at, enrolled_by, closed, tier, tier_since)
            SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
            ON CONFLICT (number) DO UPDATE SET enrolled_at = excluded.enrolled_at, enrolled_by = excluded.enrolled_by,
                closed = excluded.closed, tier = excluded.tier, tier_since = excluded.tier_since
            """,
            [
                ArrayLiteral.integers(rows.map { Int64(bitPattern: $0.number.value) }),
                ArrayLiteral.integers(rows.map(\.enrolledAt.seconds)),
                ArrayLiteral.texts(rows.map { $0.enrolledBy?.rawValue }),
                ArrayLiteral.integers(rows.map { $0.isClosed ? 1 : 0 }),
                ArrayLiteral.integers(rows.map { Int64($0.tier) }),
                ArrayLiteral.integers(rows.map(\.tierSince.seconds)),
            ]
        )
    }

    private static func writePostings(_ postings: PostingRows, _ connection: Connection) throws {
        guard !postings.isEmpty else { return }
        var copy = CopyBinary()
        copy.reserve(postings.rows.count * 320)
        for (index, p) in postings.rows.enumerated() {
            copy.add(p.seq)
            copy.add(p.batch)
            copy.add(Int64(p.kind.rawValue))
            copy.add(p.partner?.rawValue)
            postings.withTexts(of: index) { recordID, legs, detail, hash in
                if p.hasRecordID { copy.add(text: recordID) } else { copy.addNull() }
                copy.add(p.member.map { Int64(bitPattern: $0.value) })
                copy.add(p.occurredAt.seconds)
                copy.add(p.units)
                copy.add(p.points)
                copy.add(text: legs)
                copy.add(text: detail)
                copy.add(bytea: hash)
            }
            copy.add(p.counterparty.map { Int64(bitPattern: $0.value) })
            copy.endRow()
        }
        try connection.copy(
            """
            COPY postings (seq, batch, kind, partner, record_id, member, occurred, units, points, legs, detail, hash,
                counterparty) FROM STDIN WITH (FORMAT binary)
            """,
            data: copy.finish()
        )
    }

    private static func writeLots(_ write: LedgerWrite, _ connection: Connection, lotCounter: inout Int64) throws {
        if !write.lots.isEmpty {
            // New lots in id order, so the primary key is appended to at its end.
            var new: [Lot] = []
            var changed: [Lot] = []
            for lot in write.lots.values {
                if lot.id > lotCounter { new.append(lot) } else { changed.append(lot) }
            }
            new.sort { $0.id < $1.id }
            changed.sort { $0.id < $1.id }
            if !new.isEmpty {
                var copy = CopyBinary()
                for l in new {
                    copy.add(l.id)
                    copy.add(Int64(bitPattern: l.member.value))
                    copy.add(l.issuer.rawValue)
                    copy.add(l.points)
                    copy.add(l.earnedAt.seconds)
                    copy.add(l.expiresAt.seconds)
                    copy.add(Int64(l.isBonus ? 1 : 0))
                    copy.endRow()
                }
                try connection.copy(
                    "COPY lots (id, member, issuer, points, earned_at, expires_at, bonus) FROM STDIN WITH (FORMAT binary)",
                    data: copy.finish()
                )
            }
            if !changed.isEmpty {
                // An upsert, not UPDATE … FROM: each row is found through the primary key.
                _ = try connection.query(
                    """
                    INSERT INTO lots (id, member, issuer, points, earned_at, expires_at, bonus)
                    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[],
                        $6::bigint[], $7::bigint[])
                    ON CONFLICT (id) DO UPDATE SET points = excluded.points
                    """,
                    [
                        ArrayLiteral.integers(changed.map(\.id)),
                        ArrayLiteral.integers(changed.map { Int64(bitPattern: $0.member.value) }),
                        ArrayLiteral.texts(changed.map { $0.issuer.rawValue }),
                        ArrayLiteral.integers(changed.map(\.points)),
                        ArrayLiteral.integers(changed.map(\.earnedAt.seconds)),
                        ArrayLiteral.integers(changed.map(\.expiresAt.seconds)),
                        ArrayLiteral.integers(changed.map { $0.isBonus ? 1 : 0 }),
                    ]
                )
            }
        }
        if !write.deletedLots.isEmpty {
            _ = try connection.query(
                "DELETE FROM lots WHERE id = ANY($1::bigint[])",
                [ArrayLiteral.integers(write.deletedLots.sorted())]
            )
        }
        if let maxLot = (write.lots.keys.max().map { max($0, write.deletedLots.max() ?? 0) } ?? write.deletedLots.max())
        {
            lotCounter = max(lotCounter, maxLot)
            _ = try connection.query(
                """
                INSERT INTO counters (name, value) VALUES ('lot', $1::bigint)
                ON CONFLICT (name) DO UPDATE SET value = greatest(counters.value, excluded.value)
                """,
                [String(maxLot)]
            )
        }
    }

    /// Writes the qualifying points of the days a batch changed, as the batch leaves them:
    /// once a batch, as the SQLite store does (a day's row changes in many chunks of a file).
    static func write(qualifying: [QualifyingKey: Int64], to connection: Connection) throws {
        let days = qualifying.sorted { ($0.key.member, $0.key.day) < ($1.key.member, $1.key.day) }
        let kept = days.filter { $0.value != 0 }
        let gone = days.filter { $0.value == 0 }
        if !kept.isEmpty {
            _ = try connection.query(
                """
                INSERT INTO qualifying (member, day, points) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[])
                ON CONFLICT (member, day) DO UPDATE SET points = excluded.points
                """,
                [
                    ArrayLiteral.integers(kept.map { Int64(bitPattern: $0.key.member.value) }),
                    ArrayLiteral.integers(kept.map(\.key.day)), ArrayLiteral.integers(kept.map(\.value)),
                ]
            )
        }
        if !gone.isEmpty {
            _ = try connection.query(
                """
                DELETE FROM qualifying q USING unnest($1::bigint[], $2::bigint[]) AS d (member, day)
                WHERE q.member = d.member AND q.day = d.day
                """,
                [
                    ArrayLiteral.integers(gone.map { Int64(bitPattern: $0.key.member.value) }),
                    ArrayLiteral.integers(gone.map(\.key.day)),
                ]
            )
        }
    }

    private static func write(_ cycle: ClearingCycle, to connection: Connection) throws {
        _ = try connection.query(
            """
            INSERT INTO cycles (number, through, closed_at, watermark, obligations, posting_seq)
            VALUES ($1, $2, $3, $4, $5, $6)
            """,
            [
                cycle.number, cycle.through.seconds, cycle.closedAt.seconds, cycle.watermark,
                Int64(cycle.obligationCount), cycle.postingSeq,
            ].map { String($0) }
        )
        var gross = CopyBinary()
        var net = CopyBinary()
        var instructions = CopyBinary()
        for clearing in cycle.clearings {
            let code = clearing.currency.code
            for (debtor, row) in clearing.gross {
                for (creditor, amount) in row {
                    gross.add(cycle.number)
                    gross.add(code)
                    gross.add(debtor.rawValue)
                    gross.add(creditor.rawValue)
                    gross.add(amount)
                    gross.endRow()
                }
            }
            // A partner whose fee took all it received has a fee but no net: keep its row.
            var rows = clearing.net
            for id in clearing.fees.keys where rows[.partner(id)] == nil { rows[.partner(id)] = 0 }
            for (participant, amount) in rows {
                net.add(cycle.number)
                net.add(code)
                net.add(participant.description)
                net.add(amount)
                if case .partner(let id) = participant { net.add(clearing.fees[id] ?? 0) } else { net.add(Int64(0)) }
                net.endRow()
            }
            for (form, list) in [("ccp", clearing.centralCounterparty), ("direct", clearing.fewestPayments)] {
                for (ordinal, payment) in list.enumerated() {
                    instructions.add(cycle.number)
                    instructions.add(form)
                    instructions.add(Int64(ordinal))
                    instructions.add(code)
                    instructions.add(payment.payer.description)
                    instructions.add(payment.payee.description)
                    instructions.add(payment.amount)
                    instructions.endRow()
                }
            }
        }
        var batches = CopyBinary()
        for reference in cycle.batches {
            batches.add(cycle.number)
            batches.add(reference.partner.rawValue)
            batches.add(reference.sequence)
            batches.add(reference.counterparties.map(\.rawValue).sorted().joined(separator: ","))
            batches.endRow()
        }
        for (table, columns, rows) in [
            ("cycle_gross", "cycle, currency, debtor, creditor, amount", gross),
            ("cycle_net", "cycle, currency, participant, amount, fee", net),
            ("cycle_instructions", "cycle, form, ordinal, currency, payer, payee, amount", instructions),
            ("cycle_batches", "cycle, partner, sequence, counterparties", batches),
        ] where !rows.isEmpty {
            var copy = rows
            try connection.copy("COPY \(table) (\(columns)) FROM STDIN WITH (FORMAT binary)", data: copy.finish())
        }
    }
}

/// Rows in COPY's text format: columns separated by tabs, rows ended by newlines, `\N` for
/// NULL, and a backslash, tab, newline or carriage return in a text escaped.
struct CopyText {
    private(set) var bytes: [UInt8] = []
    private var atRowStart = true

    mutating func reserve(_ count: Int) { bytes.reserveCapacity(count) }

    private mutating func separate() {
        if !atRowStart { bytes.append(0x09) }
        atRowStart = false
    }

    mutating func add(_ value: Int64) {
        separate()
        if value == 0 {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        // Digits last first, then turned round in place: no buffer made per number.
        var magnitude = value.magnitude
        let start = bytes.count
        while magnitude > 0 {
            bytes.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        }
        bytes[start..<bytes.count].reverse()
    }

    mutating func add(_ value: Int64?) {
        if let value { add(value) } else { addNull() }
    }

    mutating func addNull() {
        separate()
        bytes.append(UInt8(ascii: "\\"))
        bytes.append(UInt8(ascii: "N"))
    }

    mutating func add(_ text: String?) {
        guard var text else { return addNull() }
        text.withUTF8 { add(text: UnsafeRawBufferPointer($0)) }
    }

    mutating func add(text: UnsafeRawBufferPointer) {
        separate()
        for byte in text {
            switch byte {
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            default: bytes.append(byte)
            }
        }
    }

    /// A `bytea` in its hex form, `\x…`, its backslash escaped for COPY.
    mutating func add(bytea: UnsafeRawBufferPointer) {
        separate()
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\"), UInt8(ascii: "x")])
        for byte in bytea {
            bytes.append(hex[Int(byte >> 4)])
            bytes.append(hex[Int(byte & 0x0F)])
        }
    }

    mutating func endRow() {
        bytes.append(0x0A)
        atRowStart = true
    }
}

/// Array parameters in PostgreSQL's text form, for `unnest`: one parameter carries a column
/// of a chunk's rows.
enum ArrayLiteral {
    static func integers(_ values: [Int64]) -> String {
        "{" + values.map(String.init).joined(separator: ",") + "}"
    }

    /// Integers with NULLs for nil.
    static func optionalIntegers(_ values: [Int64?]) -> String {
        "{" + values.map { $0.map(String.init) ?? "NULL" }.joined(separator: ",") + "}"
    }

    /// Every element quoted, its backslashes and quotes escaped; nil is an unquoted NULL.
    static func texts(_ values: [String?]) -> String {
        var out = "{"
        for (index, value) in values.enumerated() {
            if index > 0 { out += "," }
            guard let value else {
                out += "NULL"
                continue
            }
            out += "\""
            for character in value.unicodeScalars {
                if character == "\\" || character == "\"" { out += "\\" }
                out.unicodeScalars.append(character)
            }
            out += "\""
        }
        return out + "}"
    }

    static func texts(_ values: [String]) -> String { texts(values.map { Optional($0) }) }
}
