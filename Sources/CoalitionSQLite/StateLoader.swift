import CoalitionKit
import Dispatch

/// Reads the engine's hot state back from a ledger file: members with their lots,
/// qualifying days and transfer marks, the balances, the record-id index and the counters.
///
/// Rows go straight into the members they belong to (no table of lots per member is built
/// and copied), a member is looked up once for a run of its rows, partner ids are
/// recognised by their bytes, and the record-id index, the largest part, is read on a
/// second thread through a read-only connection of its own while this one reads the
/// members.
struct StateLoader {
    let database: Database

    /// The state, from the saved state file at `stateFile` when it is there and current
    /// (see `StateFile`), otherwise from the tables; `fromStateFile` says which.
    func load(stateFile: String?) throws -> (state: LedgerSnapshot, fromStateFile: Bool) {
        let mark = try StateMark.current(database)
        let records = RecordIndexLoad(path: database.path, capacity: Int(mark.lastSeq))
        records.start()
        // Whatever happens here, the other thread is waited for before returning.
        var index: RecordIndex?
        defer { if index == nil { _ = try? records.wait() } }

        var snapshot: LedgerSnapshot
        let limit = StateFile.sizeLimit(ledgerPath: database.path)
        let saved = stateFile.flatMap { StateFile.read(path: $0, expecting: mark, limit: limit) }
        if let saved {
            snapshot = saved
        } else {
            snapshot = LedgerSnapshot()
            try loadTables(into: &snapshot)
            snapshot.lastBatch = mark.lastBatch
            snapshot.lastSeq = mark.lastSeq
            snapshot.lastHash = mark.lastHash
            snapshot.lastLotID = mark.lastLotID
            snapshot.lastObligationID = mark.lastObligationID
        }
        index = try records.wait()
        snapshot.records = index!
        return (snapshot, saved != nil)
    }

    /// Members with their rows, and the balances.
    private func loadTables(into snapshot: inout LedgerSnapshot) throws {
        var partners = PartnerBytes()
        try loadMembers(into: &snapshot, partners: &partners)
        try loadMemberRows(into: &snapshot, partners: &partners)
        try loadReferrals(into: &snapshot, partners: &partners)
        var position = snapshot.members.startIndex
        while position != snapshot.members.endIndex {
            snapshot.members.values[position].finishLoading()
            snapshot.members.formIndex(after: &position)
        }
        let accounts = try database.statement("SELECT account, unit, balance FROM accounts")
        while try accounts.step() {
            snapshot.accounts[AccountKey(accounts.string(0), accounts.string(1))] = accounts.int64(2)
        }
    }

    /// The members' own rows, without their lots, days and transfers.
    private func loadMembers(into snapshot: inout LedgerSnapshot, partners: inout PartnerBytes) throws {
        let memberCount = try database.integer("SELECT count(*) FROM members") ?? 0
        snapshot.members.reserveCapacity(Int(memberCount))
        let members = try database.statement(
            "SELECT number, enrolled_at, enrolled_by, closed, tier, tier_since FROM members"
        )
        while try members.step() {
            let number = try MemberNumber(stored: members.int64(0))
            snapshot.members[number] = MemberAccount(
                number: number,
                enrolledAt: Timestamp(seconds: members.int64(1)),
                enrolledBy: members.isNull(2) ? nil : try partners.id(members, column: 2),
                isClosed: members.int64(3) != 0,
                tier: Int(members.int64(4)),
                tierSince: Timestamp(seconds: members.int64(5)),
                qualifying: [],
                transfers: []
            )
        }
    }

    /// Each member's qualifying days, transfers and lots.
    private func loadMemberRows(into snapshot: inout LedgerSnapshot, partners: inout PartnerBytes) throws {
        func notEnrolled(_ what: String, _ value: Int64) -> CoalitionError {
            CoalitionError(.storeFailure, "\(what) of member \(value), who is not enrolled")
        }
        // A run of rows of one member (qualifying days come in member order, a member's new
        // lots often together) looks the member up once.
        var current: (number: Int64, position: Dictionary<MemberNumber, MemberAccount>.Index)?
        func position(of number: Int64, for what: String) throws -> Dictionary<MemberNumber, MemberAccount>.Index {
            if let current, current.number == number { return current.position }
            guard let found = snapshot.members.index(forKey: MemberNumber(lookingUp: number)) else {
                throw notEnrolled(what, number)
            }
            current = (number, found)
            return found
        }
        let days = try database.statement("SELECT member, day, points FROM qualifying ORDER BY member, day")
        while try days.step() {
            let day = QualifyingDay(day: days.int64(1), points: days.int64(2))
            snapshot.members.values[try position(of: days.int64(0), for: "qualifying points")].addLoaded(day)
        }
        // Transfers (kind 6): a referral bonus's earn names its referrer as counterparty too.
        let transfers = try database.statement(
            "SELECT member, counterparty, occurred, units FROM postings INDEXED BY postings_by_counterparty "
                + "WHERE counterparty IS NOT NULL AND kind = 6 ORDER BY seq"
        )
        while try transfers.step() {
            let at = Timestamp(seconds: transfers.int64(2))
            let points = transfers.int64(3)
            for (column, sent) in [(Int32(0), true), (1, false)] {
                let mark = TransferMark(at: at, points: points, sent: sent)
                guard snapshot.members[MemberNumber(lookingUp: transfers.int64(column))]?.addLoaded(mark) != nil else {
                    throw notEnrolled("a transfer", transfers.int64(column))
                }
            }
        }
        let lots = try database.statement(
            "SELECT id, member, issuer, points, earned_at, expires_at, bonus FROM lots"
        )
        while try lots.step() {
            let member = try position(of: lots.int64(1), for: "lots")
            let lot = Lot(
                id: lots.int64(0),
                member: MemberNumber(lookingUp: lots.int64(1)),
                issuer: try partners.id(lots, column: 2),
                points: lots.int64(3),
                earnedAt: Timestamp(seconds: lots.int64(4)),
                expiresAt: Timestamp(seconds: lots.int64(5)),
                isBonus: lots.int64(6) != 0
            )
            snapshot.members.values[member].addLoaded(lot)
        }
    }

    /// The referral links.
    private func loadReferrals(into snapshot: inout LedgerSnapshot, partners: inout PartnerBytes) throws {
        let referrals = try database.statement(
            "SELECT member, referrer, linked_at, partner, bonus_seq, reversed FROM referrals"
        )
        while try referrals.step() {
            snapshot.referrals.set(
                Referral(
                    member: try MemberNumber(stored: referrals.int64(0)),
                    referrer: try MemberNumber(stored: referrals.int64(1)),
                    linkedAt: Timestamp(seconds: referrals.int64(2)),
                    partner: try partners.id(referrals, column: 3),
                    bonusSeq: referrals.optionalInt64(4),
                    isReversed: referrals.int64(5) != 0
                )
            )
        }
    }
}

/// Partner ids as a store reads them, recognised by their bytes: a ledger names a handful
/// of partners millions of times.
struct PartnerBytes {
    private var known: [([UInt8], PartnerID)] = []

    mutating func id(_ statement: Statement, column: Int32) throws -> PartnerID {
        let found = statement.text(column) { bytes in
            known.first { $0.0.elementsEqual(bytes) }?.1
        }
        if let found { return found }
        let id = try PartnerID(stored: statement.string(column))
        known.append((Array(id.rawValue.utf8), id))
        return id
    }
}

/// The record-id index, read on a thread of its own through a read-only connection.
final class RecordIndexLoad: @unchecked Sendable {
    // @unchecked Sendable: `result` is written by the loading thread before it leaves
    // `group`, and read by the caller only after `wait()` has waited on `group`.
    private let path: String
    private let capacity: Int
    private let group = DispatchGroup()
    private var result: Result<RecordIndex, any Error> = .failure(
        CoalitionError(.storeFailure, "the record ids were not loaded")
    )

    init(path: String, capacity: Int) {
        self.path = path
        self.capacity = capacity
    }

    func start() {
        DispatchQueue.global().async(group: group) { [self] in
            result = Result { try RecordIndexLoad.read(path: path, capacity: capacity) }
        }
    }

    func wait() throws -> RecordIndex {
        group.wait()
        return try result.get()
    }

    /// Reads the record-id index alone (it covers these columns): narrow rows, and no text
    /// made but for a key whose fingerprint another already holds.
    static func read(path: String, capacity: Int) throws -> RecordIndex {
        let database = try Database(path: path, create: false, readOnly: true)
        var index = RecordIndex()
        index.reserveCapacity(capacity)
        let records = try database.statement(
            "SELECT partner, record_id, seq FROM postings INDEXED BY postings_by_record WHERE record_id IS NOT NULL"
        )
        defer { records.reset() }
        while try records.step() {
            let fingerprint = records.text(0) { partner in
                records.text(1) { RecordIndex.fingerprint(partner: partner, id: $0) }
            }
            try index.insert(
                fingerprint: fingerprint,
                seq: records.int64(2),
                key: RecordKey(stored: try PartnerID(stored: records.string(0)), records.string(1))
            )
        }
        return index
    }
}
