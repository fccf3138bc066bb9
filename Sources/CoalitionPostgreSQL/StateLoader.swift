import CoalitionKit
import CoalitionSQLite

/// Reads the engine's hot state back from the tables: members with their lots, qualifying
/// days and transfer marks, the balances, the record-id index and the counters. Runs inside
/// one transaction (see `PostgreSQLStore.readOnly`), and streams every large table through a
/// cursor, so a big ledger is never held twice.
struct StateLoader {
    let connection: Connection

    /// The journal's head as the tables hold it now: what a saved state must have been
    /// taken at to be used.
    func currentMark() throws -> StateMark {
        let head = try connection.query(
            """
            SELECT (SELECT coalesce(max(id), 0) FROM batches), (SELECT value FROM counters WHERE name = 'lot'),
                (SELECT coalesce(max(id), 0) FROM obligations)
            """
        )
        var mark = StateMark(
            lastBatch: head.int64(0, 0),
            lastSeq: 0,
            lastHash: Posting.genesisHash,
            lastLotID: head.optionalInt64(0, 1) ?? 0,
            lastObligationID: head.int64(0, 2)
        )
        let last = try connection.query("SELECT seq, hash FROM postings ORDER BY seq DESC LIMIT 1")
        if last.count > 0 {
            mark.lastSeq = last.int64(0, 0)
            mark.lastHash = last.bytes(0, 1)
        }
        return mark
    }

    /// The state, from the saved snapshot when `useSnapshot` and it was taken at the tables'
    /// head (see `SnapshotTable`), otherwise from the tables; `fromSnapshot` says which.
    /// The record-id index is always read from the tables.
    func load(useSnapshot: Bool) throws -> (state: LedgerSnapshot, fromSnapshot: Bool) {
        let mark = try currentMark()
        var snapshot: LedgerSnapshot
        let saved = useSnapshot ? try SnapshotTable.read(connection, expecting: mark) : nil
        if let saved {
            snapshot = saved
        } else {
            snapshot = LedgerSnapshot()
            snapshot.lastBatch = mark.lastBatch
            snapshot.lastSeq = mark.lastSeq
            snapshot.lastHash = mark.lastHash
            snapshot.lastLotID = mark.lastLotID
            snapshot.lastObligationID = mark.lastObligationID
            try loadMembers(into: &snapshot)
            let accounts = try connection.query("SELECT account, unit, balance FROM accounts")
            for row in 0..<accounts.count {
                snapshot.accounts[AccountKey(accounts.string(row, 0), accounts.string(row, 1))] =
                    accounts.int64(row, 2)
            }
        }
        snapshot.records = RecordIndex()
        snapshot.records.reserveCapacity(Int(snapshot.lastSeq))
        try connection.forEachRow("SELECT partner, record_id, seq FROM postings WHERE record_id IS NOT NULL") {
            rows,
            row in
            let fingerprint = rows.withBytes(row, 0) { partner in
                rows.withBytes(row, 1) { RecordIndex.fingerprint(partner: partner, id: $0) }
            }
            // The key itself is made only when another holds its fingerprint.
            try snapshot.records.insert(
                fingerprint: fingerprint,
                seq: rows.int64(row, 2),
                key: RecordKey(stored: try PartnerID(stored: rows.string(row, 0)), rows.string(row, 1))
            )
        }
        return (snapshot, saved != nil)
    }

    private func loadMembers(into snapshot: inout LedgerSnapshot) throws {
        var partners: [String: PartnerID] = [:]
        func partner(_ name: String) throws -> PartnerID {
            if let known = partners[name] { return known }
            let id = try PartnerID(stored: name)
            partners[name] = id
            return id
        }
        try connection.forEachRow("SELECT number, enrolled_at, enrolled_by, closed, tier, tier_since FROM members") {
            rows,
            row in
            let number = try MemberNumber(stored: rows.int64(row, 0))
            snapshot.members[number] = MemberAccount(
                number: number,
                enrolledAt: Timestamp(seconds: rows.int64(row, 1)),
                enrolledBy: try rows.optionalString(row, 2).map(partner),
                isClosed: rows.int64(row, 3) != 0,
                tier: Int(rows.int64(row, 4)),
                tierSince: Timestamp(seconds: rows.int64(row, 5)),
                qualifying: [],
                transfers: []
            )
        }
        func notEnrolled(_ what: String, _ value: Int64) -> CoalitionError {
            CoalitionError(.storeFailure, "\(what) of member \(value), who is not enrolled")
        }
        try connection.forEachRow("SELECT member, day, points FROM qualifying ORDER BY member, day") { rows, row in
            let day = QualifyingDay(day: rows.int64(row, 1), points: rows.int64(row, 2))
            guard snapshot.members[MemberNumber(lookingUp: rows.int64(row, 0))]?.addLoaded(day) != nil else {
                throw notEnrolled("qualifying points", rows.int64(row, 0))
            }
        }
        try connection.forEachRow(
            "SELECT member, counterparty, occurred, units FROM postings WHERE counterparty IS NOT NULL AND kind = 6 ORDER BY seq"
        ) { rows, row in
            let at = Timestamp(seconds: rows.int64(row, 2))
            let points = rows.int64(row, 3)
            for (column, sent) in [(0, true), (1, false)] {
                let mark = TransferMark(at: at, points: points, sent: sent)
                guard snapshot.members[MemberNumber(lookingUp: rows.int64(row, column))]?.addLoaded(mark) != nil else {
                    throw notEnrolled("a transfer", rows.int64(row, column))
                }
            }
        }
        try connection.forEachRow("SELECT id, member, issuer, points, earned_at, expires_at, bonus FROM lots") {
            rows,
            row in
            let member = MemberNumber(lookingUp: rows.int64(row, 1))
            let lot = Lot(
                id: rows.int64(row, 0),
                member: member,
                issuer: try partner(rows.string(row, 2)),
                points: rows.int64(row, 3),
                earnedAt: Timestamp(seconds: rows.int64(row, 4)),
                expiresAt: Timestamp(seconds: rows.int64(row, 5)),
                isBonus: rows.int64(row, 6) != 0
            )
            guard snapshot.members[member]?.addLoaded(lot) != nil else { throw notEnrolled("lots", rows.int64(row, 1)) }
        }
        try connection.forEachRow(
            "SELECT member, referrer, linked_at, partner, bonus_seq, reversed FROM referrals"
        ) { rows, row in
            snapshot.referrals.set(
                Referral(
                    member: try MemberNumber(stored: rows.int64(row, 0)),
                    referrer: try MemberNumber(stored: rows.int64(row, 1)),
                    linkedAt: Timestamp(seconds: rows.int64(row, 2)),
                    partner: try partner(rows.string(row, 3)),
                    bonusSeq: rows.optionalInt64(row, 4),
                    isReversed: rows.int64(row, 5) != 0
                )
            )
        }
        var position = snapshot.members.startIndex
        while position != snapshot.members.endIndex {
            snapshot.members.values[position].finishLoading()
            snapshot.members.formIndex(after: &position)
        }
    }
}
