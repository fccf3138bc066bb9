/// What a posting records.
package enum PostingKind: Int, Sendable, CaseIterable, CustomStringConvertible {
    case enroll = 1
    case earn = 2
    case redeem = 3
    case reverseEarn = 4
    case reverseRedeem = 5
    case transfer = 6
    case expire = 7
    case settle = 8
    case tier = 9

    package var description: String {
        switch self {
        case .enroll: "enroll"
        case .earn: "earn"
        case .redeem: "redeem"
        case .reverseEarn: "reverse-earn"
        case .reverseRedeem: "reverse-redeem"
        case .transfer: "transfer"
        case .expire: "expire"
        case .settle: "settle"
        case .tier: "tier"
        }
    }
}

/// One side of a posting: an amount of one unit added to one account's balance.
///
/// Units: `PTS` for coalition points, an ISO currency code for money, and
/// `<partner>.<unit>` for a partner's own unit (`HARBOR.HPT`).
package struct Leg: Hashable, Sendable {
    package let account: String
    package let unit: String
    package let amount: Int64

    package init(_ account: String, _ unit: String, _ amount: Int64) {
        self.account = account
        self.unit = unit
        self.amount = amount
    }
}

/// Well-known account names.
package enum Account {
    package static let points = "PTS"

    package static func member(_ number: MemberNumber) -> String { "member:\(number)" }
    /// An issuer's points account: minus its outstanding liability.
    package static func issuer(_ id: PartnerID) -> String { "issuer:\(id)" }
    package static func reported(_ id: PartnerID) -> String { "reported:\(id)" }
    package static func converted(_ id: PartnerID) -> String { "converted:\(id)" }
    package static func rounding(_ id: PartnerID) -> String { "rounding:\(id)" }
    /// Money a partner is due from other partners (plus) …
    package static func receivable(_ id: PartnerID) -> String { "receivable:\(id)" }
    /// … and owes them (minus).
    package static func payable(_ id: PartnerID) -> String { "payable:\(id)" }
}

/// An entry in the journal: balanced legs per unit, the record that caused it, and its link
/// in the hash chain.
package struct Posting: Hashable, Sendable {
    package let seq: Int64
    package let batch: Int64
    package let kind: PostingKind
    package let partner: PartnerID?
    package let recordID: String?
    package let member: MemberNumber?
    /// The other member of a transfer: the one who receives.
    package let counterparty: MemberNumber?
    package let occurredAt: Timestamp
    /// The amount as the partner reported it, in its own unit (0 where none).
    package let units: Int64
    /// The coalition points the posting moved for the member (signed).
    package let points: Int64
    /// The legs as stored and hashed: `Posting.encode(legs)`, made once. The posting keeps
    /// only this text: a chunk of postings waiting for the store holds no arrays of legs.
    package let legsText: String
    /// The legs, read back from `legsText`.
    package var legs: [Leg] { Posting.decodeLegs(legsText) ?? [] }
    /// What a later reversal needs: the rate used, the lots consumed. Part of the hash.
    package let detail: String
    /// SHA-256 of the previous posting's hash and this posting's canonical bytes.
    package internal(set) var hash: [UInt8]

    package init(
        seq: Int64,
        batch: Int64,
        kind: PostingKind,
        partner: PartnerID?,
        recordID: String?,
        member: MemberNumber?,
        occurredAt: Timestamp,
        units: Int64,
        points: Int64,
        legs: [Leg],
        detail: String,
        hash: [UInt8],
        counterparty: MemberNumber? = nil
    ) {
        self.init(
            seq: seq,
            batch: batch,
            kind: kind,
            partner: partner,
            recordID: recordID,
            member: member,
            occurredAt: occurredAt,
            units: units,
            points: points,
            legsText: Posting.encode(legs),
            detail: detail,
            hash: hash,
            counterparty: counterparty
        )
    }

    /// A posting as a store reads it back, its legs as the stored text (`encode`'s form).
    package init(
        seq: Int64,
        batch: Int64,
        kind: PostingKind,
        partner: PartnerID?,
        recordID: String?,
        member: MemberNumber?,
        occurredAt: Timestamp,
        units: Int64,
        points: Int64,
        legsText: String,
        detail: String,
        hash: [UInt8],
        counterparty: MemberNumber?
    ) {
        self.counterparty = counterparty
        self.seq = seq
        self.batch = batch
        self.kind = kind
        self.partner = partner
        self.recordID = recordID
        self.member = member
        self.occurredAt = occurredAt
        self.units = units
        self.points = points
        self.legsText = legsText
        self.detail = detail
        self.hash = hash
    }

    package var recordKey: RecordKey? {
        guard let partner, let recordID else { return nil }
        return RecordKey(trusted: partner, recordID)
    }

    /// `account unit amount` triples joined by `;`: how legs are stored and hashed.
    package static func encode(_ legs: [Leg]) -> String {
        var bytes = CanonicalBytes()
        bytes.append(legs)
        return bytes.text
    }

    /// The legs of `text`, or nil if it is not what `encode` writes.
    package static func decodeLegs(_ text: String) -> [Leg]? {
        if text.isEmpty { return [] }
        var legs: [Leg] = []
        for part in text.split(separator: ";", omittingEmptySubsequences: false) {
            let fields = part.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 3, let amount = Int64(fields[2]) else { return nil }
            legs.append(Leg(String(fields[0]), String(fields[1]), amount))
        }
        return legs
    }

    /// The bytes the hash chain covers, in a fixed field order separated by `|`:
    /// `seq|batch|kind|partner|record id|member|occurred|units|points|legs|detail`, then
    /// `|c=<member>` for a transfer's receiver. Written into `bytes`, which is emptied first.
    package func canonicalBytes(into bytes: inout CanonicalBytes) {
        var legs = legsText
        var detail = detail
        var id = recordID ?? ""
        let hasRecordID = recordID != nil
        legs.withUTF8 { legs in
            detail.withUTF8 { detail in
                id.withUTF8 { id in
                    Posting.canonicalBytes(
                        into: &bytes,
                        seq: seq,
                        batch: batch,
                        kind: kind,
                        partner: partner,
                        recordID: hasRecordID ? UnsafeRawBufferPointer(id) : nil,
                        member: member,
                        occurredAt: occurredAt,
                        units: units,
                        points: points,
                        legs: UnsafeRawBufferPointer(legs),
                        detail: UnsafeRawBufferPointer(detail),
                        counterparty: counterparty
                    )
                }
            }
        }
    }

    /// `canonicalBytes(into:)` of a posting with these fields, its record id, legs and detail
    /// given as their UTF-8 bytes: the one place the hashed form is written.
    static func canonicalBytes(
        into bytes: inout CanonicalBytes,
        seq: Int64,
        batch: Int64,
        kind: PostingKind,
        partner: PartnerID?,
        recordID: UnsafeRawBufferPointer?,
        member: MemberNumber?,
        occurredAt: Timestamp,
        units: Int64,
        points: Int64,
        legs: UnsafeRawBufferPointer,
        detail: UnsafeRawBufferPointer,
        counterparty: MemberNumber?
    ) {
        bytes.removeAll()
        bytes.append(seq)
        bytes.append(separator: 124)
        bytes.append(batch)
        bytes.append(separator: 124)
        bytes.append(Int64(kind.rawValue))
        bytes.append(separator: 124)
        if let partner { bytes.append(partner) }
        bytes.append(separator: 124)
        if let recordID { bytes.append(bytes: recordID) }
        bytes.append(separator: 124)
        if let member { bytes.append(member.value) }
        bytes.append(separator: 124)
        bytes.append(occurredAt.seconds)
        bytes.append(separator: 124)
        bytes.append(units)
        bytes.append(separator: 124)
        bytes.append(points)
        bytes.append(separator: 124)
        bytes.append(bytes: legs)
        bytes.append(separator: 124)
        bytes.append(bytes: detail)
        if let counterparty {
            bytes.append("|c=")
            bytes.append(counterparty.value)
        }
    }

    /// The canonical bytes as text, for people and tests.
    package var canonicalText: String {
        var bytes = CanonicalBytes()
        canonicalBytes(into: &bytes)
        return bytes.text
    }

    /// The chain link: SHA-256 of `previous` followed by the canonical bytes.
    package static func chainHash(
        previous: [UInt8],
        canonical: borrowing CanonicalBytes,
        using hasher: SHA256
    ) -> [UInt8] {
        hasher.update(previous)
        canonical.withUnsafeBytes { hasher.update($0) }
        return hasher.finish()
    }

    /// `chainHash`, written over `link`, which holds `previous` on the way in and is the
    /// new link on the way out: the chain moves on with no buffer made.
    static func advance(_ link: inout [UInt8], canonical: borrowing CanonicalBytes, using hasher: SHA256) {
        hasher.update(link)
        canonical.withUnsafeBytes { hasher.update($0) }
        link.withUnsafeMutableBytes { hasher.finish(into: $0) }
    }

    /// The hash of the posting before the first.
    package static let genesisHash = [UInt8](repeating: 0, count: 32)
}

/// A growing buffer of the bytes a posting's hash covers, reused from posting to posting so
/// that hashing builds no `String`: integers are written digit by digit.
///
/// It owns its memory and cannot be copied (a copy would share it): each append is a
/// capacity check and a store, with none of an array's uniqueness checks.
package struct CanonicalBytes: ~Copyable {
    private var base: UnsafeMutableRawPointer
    private var count = 0
    private var capacity: Int

    package init() {
        capacity = 512
        base = .allocate(byteCount: capacity, alignment: 1)
    }

    deinit { base.deallocate() }

    mutating func removeAll() { count = 0 }

    /// Room for `extra` more bytes.
    @inline(__always)
    private mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    private mutating func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let grown = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 1)
        grown.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = grown
        capacity = newCapacity
    }

    mutating func append(separator byte: UInt8) {
        reserve(1)
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    mutating func append(bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        (base + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// A rate as `Rate.description` writes it: `1/3`, or `2` when the denominator is 1.
    mutating func append(_ rate: Rate) {
        append(rate.numerator)
        if rate.denominator != 1 {
            append(separator: 47)  // "/"
            append(rate.denominator)
        }
    }

    mutating func append(_ partner: PartnerID) {
        partner.withUTF8 { append(bytes: $0) }
    }

    /// A signed decimal integer, as `String(value)` writes it.
    mutating func append(_ value: Int64) {
        if value < 0 { append(separator: 45) }
        append(value.magnitude)
    }

    /// An unsigned decimal integer, written in place from its last digits back, two at a time.
    mutating func append(_ value: UInt64) {
        var digits = 1
        var bound: UInt64 = 10
        while digits < 20 && value >= bound {
            digits += 1
            bound &*= 10
        }
        reserve(digits)
        let pairs = CanonicalBytes.digitPairs
        var rest = value
        var at = count + digits
        while rest >= 100 {
            let pair = Int(truncatingIfNeeded: rest % 100) &* 2
            rest /= 100
            at -= 2
            (base + at).copyMemory(from: pairs + pair, byteCount: 2)
        }
        if rest >= 10 {
            (base + at - 2).copyMemory(from: pairs + Int(truncatingIfNeeded: rest) &* 2, byteCount: 2)
        } else {
            base.storeBytes(of: 48 + UInt8(truncatingIfNeeded: rest), toByteOffset: at - 1, as: UInt8.self)
        }
        count += digits
    }

    /// "00", "01" … "99": the two digits of every number below 100. A static string's bytes
    /// are a constant of the binary, with no lazy initialization to check at each use.
    private static var digitPairs: UnsafeRawPointer {
        let pairs: StaticString = """
            00010203040506070809101112131415161718192021222324\
            25262728293031323334353637383940414243444546474849\
            50515253545556575859606162636465666768697071727374\
            75767778798081828384858687888990919293949596979899
            """
        return UnsafeRawPointer(pairs.utf8Start)
    }

    /// `account unit amount` triples joined by `;`.
    mutating func append(_ legs: [Leg]) {
        for (index, leg) in legs.enumerated() {
            if index > 0 { append(separator: 59) }
            append(leg.account)
            append(separator: 32)
            append(leg.unit)
            append(separator: 32)
            append(leg.amount)
        }
    }

    var text: String { String(decoding: UnsafeRawBufferPointer(start: base, count: count), as: UTF8.self) }

    func withUnsafeBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }
}
