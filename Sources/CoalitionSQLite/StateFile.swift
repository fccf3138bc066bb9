import CoalitionFiles
import CoalitionKit
import Foundation

/// The engine's hot state saved beside the ledger (`ledger.sqlite-state`) when a process is
/// done with it, so that the next open reads one file in member order instead of rebuilding
/// the members and their lots from the tables, where lots lie in id order.
///
/// It is a cache, never the truth. It names the ledger state it was taken at (`StateMark`:
/// the last batch, the last posting and its hash, the lot and obligation counters), and it
/// is used only when the tables stand at exactly that mark and its SHA-256 checksum holds.
/// Every committed batch writes a new batch row, so any change to the ledger after the file
/// was written makes it stale, and a stale, damaged or missing file only means loading from
/// the tables. The record-id index is not in it: its fingerprints are seeded per process,
/// and it is read from the tables on a second thread while this file is read.
///
/// The layout (integers little-endian, `i64`/`u64` 8 bytes, `u32` 4, `u16` 2, `u8` 1):
///
/// ```
/// magic        "COALITION-STATE" (15 bytes), then the version (1 byte, now 2)
/// mark         last batch i64, last seq i64, last hash (u8 length, bytes),
///              last lot id i64, last obligation id i64
/// partners     u16 count; each u16 length, UTF-8 id (issuers below are indices into it)
/// members      u64 count; each:
///              number u64, enrolled at i64, enrolled by u16 (0xFFFF: none), closed u8,
///              tier i64, tier since i64, then u32 counts of lots, debts, qualifying days
///              and transfer marks, then the items:
///              lot/debt: id i64, issuer u16, points i64, earned at i64, expires at i64, bonus u8
///              qualifying day: day i64, points i64
///              transfer mark: at i64, points i64, sent u8
/// accounts     u64 count; each u16 length, account, u16 length, unit, balance i64
/// referrals    u64 count; each member u64, referrer u64, linked at i64, partner u16,
///              bonus posting i64 (0: not paid), reversed u8 (version 2 on)
/// checksum     SHA-256 of every byte before it (32 bytes)
/// ```
package enum StateFile {
    static let version: UInt8 = 2
    static let magic: [UInt8] = Array("COALITION-STATE".utf8) + [version]

    /// Where the state of the ledger at `path` is saved.
    static func path(for ledgerPath: String) -> String { ledgerPath + "-state" }

    /// Writes `state`, taken at `mark`, to `path`: into a temporary file, flushed to disk,
    /// then renamed over the old one, so a reader sees the old file or the new, never half.
    package static func write(_ state: LedgerSnapshot, mark: StateMark, to path: String) throws {
        let temporary = path + ".\(getpid()).tmp"
        let out = try Output(path: temporary)
        do {
            out.put(magic)
            out.put(mark.lastBatch)
            out.put(mark.lastSeq)
            out.put(UInt8(mark.lastHash.count))
            out.put(mark.lastHash)
            out.put(mark.lastLotID)
            out.put(mark.lastObligationID)

            // Issuers are few: name them first, so each lot carries an index.
            var partners = PartnerIndexer()
            for member in state.members.values {
                if let by = member.enrolledBy { _ = partners.index(by) }
                for lot in member.lots { _ = partners.index(lot.issuer) }
                for debt in member.debts { _ = partners.index(debt.issuer) }
            }
            for link in state.referrals.links.values { _ = partners.index(link.partner) }
            guard partners.list.count < Int(UInt16.max) else {
                throw CoalitionError(.storeFailure, "too many partners for the state file")
            }
            out.put(UInt16(partners.list.count))
            for partner in partners.list { try out.putShort(partner.rawValue) }

            out.put(UInt64(state.members.count))
            for member in state.members.values { put(member, to: out, partners: &partners) }
            out.put(UInt64(state.accounts.count))
            for (key, balance) in state.accounts {
                try out.putShort(key.account)
                try out.putShort(key.unit)
                out.put(balance)
            }
            out.put(UInt64(state.referrals.links.count))
            for link in state.referrals.links.values {
                out.put(link.member.value)
                out.put(link.referrer.value)
                out.put(link.linkedAt.seconds)
                out.put(partners.index(link.partner))
                out.put(link.bonusSeq ?? 0)
                out.put(UInt8(link.isReversed ? 1 : 0))
            }
            try out.finish()
            try Failpoint.reach("state.before-rename")
            guard rename(temporary, path) == 0 else { throw Output.failure("renaming it into place", path) }
        } catch {
            out.abandon()
            unlink(temporary)
            throw error
        }
    }

    /// Gives each partner a small index, in the order they are first named.
    private struct PartnerIndexer {
        var indices: [PartnerID: UInt16] = [:]
        var list: [PartnerID] = []
        var last: (PartnerID, UInt16)?

        mutating func index(_ partner: PartnerID) -> UInt16 {
            if let last, last.0 == partner { return last.1 }  // a member's lots come in runs
            let found = indices[partner] ?? UInt16(list.count)
            if found == list.count {
                indices[partner] = found
                list.append(partner)
            }
            last = (partner, found)
            return found
        }
    }

    /// One member: the account's fields, the counts, then its lots and debts, qualifying days
    /// and transfer marks (`decodeMember` reads them back).
    private static func put(_ member: MemberAccount, to out: Output, partners: inout PartnerIndexer) {
        out.put(member.number.value)
        out.put(member.enrolledAt.seconds)
        out.put(member.enrolledBy.map { partners.index($0) } ?? UInt16.max)
        out.put(UInt8(member.isClosed ? 1 : 0))
        out.put(Int64(member.tier))
        out.put(member.tierSince.seconds)
        out.put(UInt32(member.lots.count))
        out.put(UInt32(member.debts.count))
        out.put(UInt32(member.qualifying.count))
        out.put(UInt32(member.transfers.count))
        for lot in member.lots { out.put(lot, issuer: partners.index(lot.issuer)) }
        for debt in member.debts { out.put(debt, issuer: partners.index(debt.issuer)) }
        for day in member.qualifying {
            out.put(day.day)
            out.put(day.points)
        }
        for mark in member.transfers {
            out.put(mark.at.seconds)
            out.put(mark.points)
            out.put(UInt8(mark.sent ? 1 : 0))
        }
    }

    /// The state saved at `path`, if the file is there, whole, and taken at `mark`;
    /// nil otherwise (the caller then loads from the tables).
    ///
    /// Cheap checks come first, on a few hundred bytes read from the descriptor: that it is a
    /// regular file, no larger than `limit`, and that its header names `mark`. Only then is
    /// it mapped and its checksum computed: a stale, foreign or huge (sparse) file costs one
    /// small read, not a read of all its bytes.
    package static func read(path: String, expecting mark: StateMark, limit: Int64) -> LedgerSnapshot? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG,
            Int64(status.st_size) >= Int64(magic.count + 32), Int64(status.st_size) <= limit
        else { return nil }
        var head = [UInt8](repeating: 0, count: magic.count + 8 + 8 + 1 + 255 + 8 + 8)
        let count = head.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let matches = head.withUnsafeBytes { bytes in
            (try? headerMark(UnsafeRawBufferPointer(rebasing: bytes[..<count]))) == mark
        }
        guard matches,
            let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped),
            Int64(data.count) <= limit
        else { return nil }
        return data.withUnsafeBytes { bytes in try? decode(bytes, expecting: mark) }
    }

    /// The largest state file believed for the ledger at `ledgerPath`: eight times its
    /// database and WAL, plus 1 MiB. A state holds what the tables hold, in fewer bytes
    /// than the tables and their indexes for any real ledger; a larger file is not used.
    static func sizeLimit(ledgerPath: String) -> Int64 {
        func size(_ path: String) -> Int64 {
            var status = stat()
            return stat(path, &status) == 0 ? Int64(status.st_size) : 0
        }
        let (total, overflow) = (size(ledgerPath) + size(ledgerPath + "-wal")).multipliedReportingOverflow(by: 8)
        return overflow ? Int64.max : total + (1 << 20)
    }

    /// The mark in the header at the start of `bytes` (the magic checked).
    static func headerMark(_ bytes: UnsafeRawBufferPointer) throws -> StateMark {
        var input = Input(bytes)
        guard try input.slice(magic.count).elementsEqual(magic) else { throw Unusable.damaged }
        let lastBatch = try input.i64()
        let lastSeq = try input.i64()
        let lastHash = try input.bytes(Int(input.u8()))
        return StateMark(
            lastBatch: lastBatch,
            lastSeq: lastSeq,
            lastHash: lastHash,
            lastLotID: try input.i64(),
            lastObligationID: try input.i64()
        )
    }

    /// Why a state file was not used; never shown to a user: the tables are used instead.
    enum Unusable: Error { case damaged, stale }

    static func decode(_ bytes: UnsafeRawBufferPointer, expecting mark: StateMark) throws -> LedgerSnapshot {
        guard bytes.count >= magic.count + 32 else { throw Unusable.damaged }
        let body = UnsafeRawBufferPointer(rebasing: bytes[..<(bytes.count - 32)])
        let hasher = SHA256()
        hasher.update(body)
        guard hasher.finish().elementsEqual(bytes[(bytes.count - 32)...]) else { throw Unusable.damaged }

        var input = Input(body)
        guard try input.slice(magic.count).elementsEqual(magic) else { throw Unusable.damaged }
        let lastBatch = try input.i64()
        let lastSeq = try input.i64()
        let lastHash = try input.bytes(Int(input.u8()))
        let found = StateMark(
            lastBatch: lastBatch,
            lastSeq: lastSeq,
            lastHash: lastHash,
            lastLotID: try input.i64(),
            lastObligationID: try input.i64()
        )
        guard found == mark else { throw Unusable.stale }

        var partners = PartnerTable()
        for _ in 0..<(try input.u16()) { partners.ids.append(try PartnerID(stored: input.shortString())) }

        var state = LedgerSnapshot()
        state.lastBatch = mark.lastBatch
        state.lastSeq = mark.lastSeq
        state.lastHash = mark.lastHash
        state.lastLotID = mark.lastLotID
        state.lastObligationID = mark.lastObligationID
        let memberCount = try input.count(try input.u64(), each: 60)
        state.members.reserveCapacity(memberCount)
        for _ in 0..<memberCount {
            let member = try decodeMember(&input, partners: partners)
            guard state.members.updateValue(member, forKey: member.number) == nil else { throw Unusable.damaged }
        }
        let accountCount = try input.count(try input.u64(), each: 12)
        state.accounts.reserveCapacity(accountCount)
        for _ in 0..<accountCount {
            let key = AccountKey(try input.shortString(), try input.shortString())
            guard state.accounts.updateValue(try input.i64(), forKey: key) == nil else { throw Unusable.damaged }
        }
        try decodeReferrals(&input, partners: partners, into: &state.referrals)
        guard input.isAtEnd else { throw Unusable.damaged }
        return state
    }

    /// The partners a state file names, in its order: the records refer to them by index.
    private struct PartnerTable {
        var ids: [PartnerID] = []

        func partner(_ index: UInt16) throws -> PartnerID {
            guard Int(index) < ids.count else { throw Unusable.damaged }
            return ids[Int(index)]
        }
    }

    /// One member: the account's fields, then its lots and debts, qualifying days and
    /// transfer marks.
    private static func decodeMember(_ input: inout Input, partners: PartnerTable) throws -> MemberAccount {
        let number = try MemberNumber(stored: Int64(bitPattern: input.u64()))
        let enrolledAt = Timestamp(seconds: try input.i64())
        let by = try input.u16()
        let isClosed = try input.u8() != 0
        let tier = Int(try input.i64())
        let tierSince = Timestamp(seconds: try input.i64())
        let lotCount = try input.count(UInt64(input.u32()), each: 35)
        let debtCount = try input.count(UInt64(input.u32()), each: 35)
        let dayCount = try input.count(UInt64(input.u32()), each: 16)
        let markCount = try input.count(UInt64(input.u32()), each: 17)
        var member = MemberAccount(
            number: number,
            enrolledAt: enrolledAt,
            enrolledBy: by == UInt16.max ? nil : try partners.partner(by),
            isClosed: isClosed,
            tier: tier,
            tierSince: tierSince,
            qualifying: [],
            transfers: []
        )
        member.reserveLoaded(lots: lotCount, debts: debtCount, qualifying: dayCount, transfers: markCount)
        for _ in 0..<(lotCount + debtCount) {
            member.addLoaded(
                Lot(
                    id: try input.i64(),
                    member: number,
                    issuer: try partners.partner(input.u16()),
                    points: try input.i64(),
                    earnedAt: Timestamp(seconds: try input.i64()),
                    expiresAt: Timestamp(seconds: try input.i64()),
                    isBonus: try input.u8() != 0
                )
            )
        }
        for _ in 0..<dayCount {
            member.addLoaded(QualifyingDay(day: try input.i64(), points: try input.i64()))
        }
        for _ in 0..<markCount {
            member.addLoaded(
                TransferMark(
                    at: Timestamp(seconds: try input.i64()),
                    points: try input.i64(),
                    sent: try input.u8() != 0
                )
            )
        }
        member.finishLoading()
        return member
    }

    /// The referral links, each once.
    private static func decodeReferrals(
        _ input: inout Input,
        partners: PartnerTable,
        into referrals: inout ReferralBook
    ) throws {
        let referralCount = try input.count(try input.u64(), each: 35)
        for _ in 0..<referralCount {
            let member = try MemberNumber(stored: Int64(bitPattern: input.u64()))
            let referrer = try MemberNumber(stored: Int64(bitPattern: input.u64()))
            let linkedAt = Timestamp(seconds: try input.i64())
            let partner = try partners.partner(input.u16())
            let seq = try input.i64()
            let isReversed = try input.u8() != 0
            guard referrals.links[member] == nil else { throw Unusable.damaged }
            referrals.set(
                Referral(
                    member: member,
                    referrer: referrer,
                    linkedAt: linkedAt,
                    partner: partner,
                    bonusSeq: seq == 0 ? nil : seq,
                    isReversed: isReversed
                )
            )
        }
    }

    /// Buffered writes to a new file, hashed as they go; `finish` appends the checksum and
    /// flushes the file to disk.
    private final class Output {
        let path: String
        private let descriptor: Int32
        /// Bytes not yet written, `count` of them: integers are stored straight into it.
        private let buffer: UnsafeMutableRawBufferPointer
        private var count = 0
        private let hasher = SHA256()
        private static let size = 1 << 20

        init(path: String) throws {
            self.path = path
            descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            guard descriptor >= 0 else { throw Output.failure("creating it", path) }
            buffer = .allocate(byteCount: Output.size, alignment: 8)
        }

        deinit {
            abandon()
            buffer.deallocate()
        }

        static func failure(_ what: String, _ path: String) -> CoalitionError {
            CoalitionError(
                .io,
                "cannot save the ledger's state file (\(what)): \(String(cString: strerror(errno)))",
                at: Place(file: path)
            )
        }

        func put(_ bytes: [UInt8]) {
            for byte in bytes { put(byte) }
        }

        @inline(__always)
        func put<T: FixedWidthInteger>(_ value: T) {
            let size = MemoryLayout<T>.size
            if count + size > Output.size { try? flush() }  // a failure is thrown by `finish`
            buffer.storeBytes(of: value.littleEndian, toByteOffset: count, as: T.self)
            count += size
        }

        func putShort(_ text: String) throws {
            let bytes = Array(text.utf8)
            guard bytes.count <= Int(UInt16.max) else {
                throw CoalitionError(.storeFailure, "'\(text.prefix(40))…' is too long for the state file")
            }
            put(UInt16(bytes.count))
            put(bytes)
        }

        func put(_ lot: Lot, issuer: UInt16) {
            put(lot.id)
            put(issuer)
            put(lot.points)
            put(lot.earnedAt.seconds)
            put(lot.expiresAt.seconds)
            put(UInt8(lot.isBonus ? 1 : 0))
        }

        private var failed = false
        private var isOpen = true

        private func flush() throws {
            defer { count = 0 }
            guard !failed else { throw Output.failure("writing it", path) }
            let pending = UnsafeRawBufferPointer(rebasing: buffer[..<count])
            hasher.update(pending)
            var written = 0
            while written < pending.count {
                let wrote = Glibc.write(descriptor, pending.baseAddress! + written, pending.count - written)
                guard wrote > 0 else {
                    failed = true
                    throw Output.failure("writing it", path)
                }
                written += wrote
            }
        }

        /// Appends the checksum, writes everything and flushes it to disk.
        func finish() throws {
            try flush()
            put(hasher.finish())
            try flush()
            guard fsync(descriptor) == 0 else { throw Output.failure("flushing it to disk", path) }
            isOpen = false
            guard close(descriptor) == 0 else { throw Output.failure("closing it", path) }
        }

        /// Gives up a file that `finish` did not complete (closing it once, never twice).
        func abandon() {
            if isOpen { close(descriptor) }
            isOpen = false
        }
    }

    /// Reads from the mapped file; every read is bounds-checked.
    private struct Input {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        var isAtEnd: Bool { offset == bytes.count }

        @inline(__always)
        private mutating func load<T: FixedWidthInteger>(_: T.Type) throws -> T {
            let size = MemoryLayout<T>.size
            guard bytes.count - offset >= size else { throw Unusable.damaged }
            defer { offset += size }
            return T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        }

        mutating func i64() throws -> Int64 { try load(Int64.self) }
        mutating func u64() throws -> UInt64 { try load(UInt64.self) }
        mutating func u32() throws -> UInt32 { try load(UInt32.self) }
        mutating func u16() throws -> UInt16 { try load(UInt16.self) }
        mutating func u8() throws -> UInt8 { try load(UInt8.self) }

        mutating func slice(_ count: Int) throws -> UnsafeRawBufferPointer.SubSequence {
            guard count >= 0, bytes.count - offset >= count else { throw Unusable.damaged }
            defer { offset += count }
            return bytes[offset..<(offset + count)]
        }

        mutating func bytes(_ count: Int) throws -> [UInt8] { Array(try slice(count)) }

        mutating func shortString() throws -> String {
            String(decoding: try slice(Int(u16())), as: UTF8.self)
        }

        /// `count` items of at least `each` bytes, if the rest of the file can hold them.
        func count(_ count: UInt64, each: Int) throws -> Int {
            guard count <= UInt64(bytes.count - offset) / UInt64(each) else { throw Unusable.damaged }
            return Int(count)
        }
    }
}

/// The ledger state a saved state file was taken at, as the tables name it.
package struct StateMark: Equatable {
    package var lastBatch: Int64
    package var lastSeq: Int64
    package var lastHash: [UInt8]
    package var lastLotID: Int64
    package var lastObligationID: Int64

    package init(lastBatch: Int64, lastSeq: Int64, lastHash: [UInt8], lastLotID: Int64, lastObligationID: Int64) {
        self.lastBatch = lastBatch
        self.lastSeq = lastSeq
        self.lastHash = lastHash
        self.lastLotID = lastLotID
        self.lastObligationID = lastObligationID
    }

    /// The mark of a state in memory.
    package init(_ state: LedgerSnapshot) {
        self.init(
            lastBatch: state.lastBatch,
            lastSeq: state.lastSeq,
            lastHash: state.lastHash,
            lastLotID: state.lastLotID,
            lastObligationID: state.lastObligationID
        )
    }

    /// Where the tables of `database` stand now.
    static func current(_ database: Database) throws -> StateMark {
        var mark = StateMark(
            lastBatch: try database.integer("SELECT coalesce(max(id), 0) FROM batches") ?? 0,
            lastSeq: 0,
            lastHash: Posting.genesisHash,
            lastLotID: try database.integer("SELECT value FROM counters WHERE name = 'lot'") ?? 0,
            lastObligationID: try database.integer("SELECT coalesce(max(id), 0) FROM obligations") ?? 0
        )
        let head = try database.statement("SELECT seq, hash FROM postings ORDER BY seq DESC LIMIT 1")
        defer { head.reset() }  // ends the read: no snapshot is kept open
        if try head.step() {
            mark.lastSeq = head.int64(0)
            mark.lastHash = head.bytes(1)
        }
        return mark
    }
}
