import CoalitionKit

/// Writes one chunk of a batch into the open transaction of a ledger connection: the rows of
/// its postings, lots, members, balances, obligations and rejections, and a cycle it closes;
/// and, once for the whole batch, its qualifying days. The only code that inserts into the
/// ledger's tables but for the batch row itself, which `SQLiteStore.finish` writes.
enum ChunkWriter {
    /// `gate` is offered to a waiting reader after every row (see `ConnectionGate`). The
    /// tables are written in this order, each in its own step.
    static func write(_ write: LedgerWrite, to database: Database, gate: ConnectionGate) throws {
        try writeMembers(write, database, gate)
        try writePostings(write.postings, database, gate)
        try writeReversed(write, database, gate)
        try writeLots(write, database, gate)
        try writeAccounts(write, database, gate)
        try writeObligations(write, database, gate)
        try writeRejections(write, database, gate)
        if let cycle = write.cycle { try self.write(cycle, to: database, gate: gate) }
    }

    /// Members, their tier changes and referral links, and expired lots.
    private static func writeMembers(_ write: LedgerWrite, _ database: Database, _ gate: ConnectionGate) throws {
        let members = try database.statement(
            """
            INSERT OR REPLACE INTO members (number, enrolled_at, enrolled_by, closed, tier, tier_since)
            VALUES (?, ?, ?, ?, ?, ?)
            """
        )
        for number in write.memberRows {
            guard let account = write.members[number] else { continue }
            members.bind(1, Int64(bitPattern: account.number.value))
            members.bind(2, account.enrolledAt.seconds)
            members.bind(3, account.enrolledBy)
            members.bind(4, account.isClosed ? 1 : 0)
            members.bind(5, Int64(account.tier))
            members.bind(6, account.tierSince.seconds)
            try runRow(members, gate)
        }
        let tier = try database.statement(
            "INSERT INTO tier_changes (member, at, from_tier, to_tier, reason) VALUES (?, ?, ?, ?, ?)"
        )
        for change in write.tierChanges {
            tier.bind(1, Int64(bitPattern: change.member.value))
            tier.bind(2, change.at.seconds)
            tier.bind(3, change.from)
            tier.bind(4, change.to)
            tier.bind(5, change.reason)
            try runRow(tier, gate)
        }
        if !write.referrals.isEmpty {
            let referral = try database.statement(
                """
                INSERT OR REPLACE INTO referrals (member, referrer, linked_at, partner, bonus_seq, reversed)
                VALUES (?, ?, ?, ?, ?, ?)
                """
            )
            for link in write.referrals.values.sorted(by: { $0.member < $1.member }) {
                referral.bind(1, Int64(bitPattern: link.member.value))
                referral.bind(2, Int64(bitPattern: link.referrer.value))
                referral.bind(3, link.linkedAt.seconds)
                referral.bind(4, link.partner)
                referral.bind(5, link.bonusSeq)
                referral.bind(6, link.isReversed ? 1 : 0)
                try runRow(referral, gate)
            }
        }
        let expired = try database.statement(
            """
            INSERT OR REPLACE INTO expired_lots (id, member, issuer, points, expired_at, reversed)
            VALUES (?, ?, ?, ?, ?, ?)
            """
        )
        for lot in write.expiredLots.values {
            expired.bind(1, lot.lotID)
            expired.bind(2, Int64(bitPattern: lot.member.value))
            expired.bind(3, lot.issuer)
            expired.bind(4, lot.points)
            expired.bind(5, lot.expiredAt.seconds)
            expired.bind(6, lot.reversed)
            try runRow(expired, gate)
        }
    }

    /// The postings, their texts bound where they lie in the chunk's buffer.
    private static func writePostings(_ postings: PostingRows, _ database: Database, _ gate: ConnectionGate) throws {
        let posting = try database.statement(
            """
            INSERT INTO postings (seq, batch, kind, partner, record_id, member, occurred, units, points, legs,
                detail, hash, counterparty) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        )
        // The texts are bound where they lie in the chunk's buffer: SQLite copies nothing,
        // and no binding is left pointing into the buffer, whatever happens.
        defer { posting.reset() }
        for (index, p) in postings.rows.enumerated() {
            posting.bind(1, p.seq)
            posting.bind(2, p.batch)
            posting.bind(3, Int64(p.kind.rawValue))
            posting.bind(4, p.partner)
            posting.bind(6, p.member.map { Int64(bitPattern: $0.value) })
            posting.bind(7, p.occurredAt.seconds)
            posting.bind(8, p.units)
            posting.bind(9, p.points)
            posting.bind(13, p.counterparty.map { Int64(bitPattern: $0.value) })
            try postings.withTexts(of: index) { recordID, legs, detail, hash in
                if p.hasRecordID {
                    posting.bindText(5, borrowing: recordID)
                } else {
                    posting.bind(5, nil as String?)
                }
                posting.bindText(10, borrowing: legs)
                posting.bindText(11, borrowing: detail)
                posting.bindBlob(12, borrowing: hash)
                try runRow(posting, gate)
            }
        }
    }

    /// The reversed units of the records the chunk reversed, as they now stand.
    private static func writeReversed(_ write: LedgerWrite, _ database: Database, _ gate: ConnectionGate) throws {
        let reversed = try database.statement(
            "INSERT INTO reversed (seq, units) VALUES (?, ?) ON CONFLICT (seq) DO UPDATE SET units = excluded.units"
        )
        for (seq, units) in write.reversedUnits.sorted(by: { $0.key < $1.key }) {
            reversed.bind(1, seq)
            reversed.bind(2, units)
            try runRow(reversed, gate)
        }
    }

    /// Lots made or changed, lots used up, and the lot counter.
    private static func writeLots(_ write: LedgerWrite, _ database: Database, _ gate: ConnectionGate) throws {
        // Lots are written in id order, so the B-tree is walked once from one end to the
        // other (new lots at its end) instead of at random; a changed lot is updated in place.
        let lot = try database.statement(
            """
            INSERT INTO lots (id, member, issuer, points, earned_at, expires_at, bonus)
            VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET points = excluded.points
            """
        )
        // Sorted as (id, place) pairs, not as whole lots: a third of the bytes moved.
        let lots = Array(write.lots.values)
        var order = lots.indices.map { (id: lots[$0].id, place: Int32($0)) }
        order.sort { $0.id < $1.id }
        for (_, place) in order {
            let l = lots[Int(place)]
            lot.bind(1, l.id)
            lot.bind(2, Int64(bitPattern: l.member.value))
            lot.bind(3, l.issuer)
            lot.bind(4, l.points)
            lot.bind(5, l.earnedAt.seconds)
            lot.bind(6, l.expiresAt.seconds)
            lot.bind(7, l.isBonus ? 1 : 0)
            try runRow(lot, gate)
        }
        let deleteLot = try database.statement("DELETE FROM lots WHERE id = ?")
        for id in write.deletedLots.sorted() {
            deleteLot.bind(1, id)
            try runRow(deleteLot, gate)
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
            try runRow(counter, gate)
        }
    }

    /// The balances the chunk changed.
    private static func writeAccounts(_ write: LedgerWrite, _ database: Database, _ gate: ConnectionGate) throws {
        let account = try database.statement(
            "INSERT OR REPLACE INTO accounts (account, unit, balance) VALUES (?, ?, ?)"
        )
        for (key, balance) in write.accounts {
            account.bind(1, key.account)
            account.bind(2, key.unit)
            account.bind(3, balance)
            try runRow(account, gate)
        }
    }

    /// The obligations the chunk's redemptions and reversals caused.
    private static func writeObligations(_ write: LedgerWrite, _ database: Database, _ gate: ConnectionGate) throws {
        let obligation = try database.statement(
            """
            INSERT INTO obligations (id, posting, debtor, creditor, currency, amount, points, occurred,
                source_partner, source_record, member, batch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        )
        for o in write.obligations {
            obligation.bind(1, o.id)
            obligation.bind(2, o.postingSeq)
            obligation.bind(3, o.debtor)
            obligation.bind(4, o.creditor)
            obligation.bind(5, o.currency.code)
            obligation.bind(6, o.amount)
            obligation.bind(7, o.points)
            obligation.bind(8, o.occurredAt.seconds)
            obligation.bind(9, o.source.partner)
            obligation.bind(10, o.source.recordID)
            obligation.bind(11, Int64(bitPattern: o.member.value))
            obligation.bind(12, o.batch)
            try runRow(obligation, gate)
        }
    }

    /// The records the chunk rejected.
    private static func writeRejections(_ write: LedgerWrite, _ database: Database, _ gate: ConnectionGate) throws {
        let rejection = try database.statement(
            "INSERT INTO rejections (batch, line, record_id, code, message) VALUES (?, ?, ?, ?, ?)"
        )
        for r in write.rejections {
            rejection.bind(1, write.batchID)
            rejection.bind(2, Int64(r.line))
            rejection.bind(3, r.recordID)
            rejection.bind(4, r.code.rawValue)
            rejection.bind(5, r.message)
            try runRow(rejection, gate)
        }
    }

    /// Writes the qualifying points of the days a batch changed, as the batch leaves them.
    /// They are written once a batch, not once a chunk: a member earning in many chunks of a
    /// file changes the same day's row each time (the bench's 1M records over one day and
    /// 100,000 members wrote 711,000 rows a chunk at a time, for 99,924 days).
    /// `qualifying` is emptied first, so that its table is freed before the rows are written.
    static func write(qualifying: inout [QualifyingKey: Int64], to database: Database) throws {
        // In key order: the B-tree is walked once, not at random.
        let days = qualifying.sorted { ($0.key.member, $0.key.day) < ($1.key.member, $1.key.day) }
        qualifying = [:]
        let upsert = try database.statement(
            "INSERT INTO qualifying (member, day, points) VALUES (?, ?, ?) "
                + "ON CONFLICT (member, day) DO UPDATE SET points = excluded.points"
        )
        let delete = try database.statement("DELETE FROM qualifying WHERE member = ? AND day = ?")
        for (key, points) in days {
            let statement = points == 0 ? delete : upsert
            statement.bind(1, Int64(bitPattern: key.member.value))
            statement.bind(2, key.day)
            if points != 0 { statement.bind(3, points) }
            try statement.run()
        }
    }

    /// Runs `statement` for one row, then offers the connection to a waiting reader.
    private static func runRow(_ statement: Statement, _ gate: ConnectionGate) throws {
        try statement.run()
        gate.yield()
    }

    private static func write(_ cycle: ClearingCycle, to database: Database, gate: ConnectionGate) throws {
        let row = try database.statement(
            "INSERT INTO cycles (number, through, closed_at, watermark, obligations, posting_seq) VALUES (?, ?, ?, ?, ?, ?)"
        )
        row.bind(1, cycle.number)
        row.bind(2, cycle.through.seconds)
        row.bind(3, cycle.closedAt.seconds)
        row.bind(4, cycle.watermark)
        row.bind(5, Int64(cycle.obligationCount))
        row.bind(6, cycle.postingSeq)
        try runRow(row, gate)
        let gross = try database.statement(
            "INSERT INTO cycle_gross (cycle, currency, debtor, creditor, amount) VALUES (?, ?, ?, ?, ?)"
        )
        let net = try database.statement(
            "INSERT INTO cycle_net (cycle, currency, participant, amount, fee) VALUES (?, ?, ?, ?, ?)"
        )
        let instruction = try database.statement(
            """
            INSERT INTO cycle_instructions (cycle, form, ordinal, currency, payer, payee, amount)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """
        )
        for clearing in cycle.clearings {
            let code = clearing.currency.code
            for (debtor, row) in clearing.gross {
                for (creditor, amount) in row {
                    gross.bind(1, cycle.number)
                    gross.bind(2, code)
                    gross.bind(3, debtor.rawValue)
                    gross.bind(4, creditor.rawValue)
                    gross.bind(5, amount)
                    try runRow(gross, gate)
                }
            }
            // A partner whose fee took all it received has a fee but no net: keep its row.
            var rows = clearing.net
            for id in clearing.fees.keys where rows[.partner(id)] == nil { rows[.partner(id)] = 0 }
            for (participant, amount) in rows {
                net.bind(1, cycle.number)
                net.bind(2, code)
                net.bind(3, participant.description)
                net.bind(4, amount)
                if case .partner(let id) = participant { net.bind(5, clearing.fees[id] ?? 0) } else { net.bind(5, 0) }
                try runRow(net, gate)
            }
            for (form, list) in [("ccp", clearing.centralCounterparty), ("direct", clearing.fewestPayments)] {
                for (ordinal, payment) in list.enumerated() {
                    instruction.bind(1, cycle.number)
                    instruction.bind(2, form)
                    instruction.bind(3, Int64(ordinal))
                    instruction.bind(4, code)
                    instruction.bind(5, payment.payer.description)
                    instruction.bind(6, payment.payee.description)
                    instruction.bind(7, payment.amount)
                    try runRow(instruction, gate)
                }
            }
        }
        let batch = try database.statement(
            "INSERT INTO cycle_batches (cycle, partner, sequence, counterparties) VALUES (?, ?, ?, ?)"
        )
        for reference in cycle.batches {
            batch.bind(1, cycle.number)
            batch.bind(2, reference.partner.rawValue)
            batch.bind(3, reference.sequence)
            batch.bind(4, reference.counterparties.map(\.rawValue).sorted().joined(separator: ","))
            try runRow(batch, gate)
        }
    }
}
