/// What a posting records.
public enum PostingKind: Int, Sendable, CaseIterable, CustomStringConvertible {
    case enroll = 1
    case earn = 2
    case redeem = 3
    case reverseEarn = 4
    case reverseRedeem = 5
    case transfer = 6
    case expire = 7
    case settle = 8
    case tier = 9

    public var description: String {
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
public struct Leg: Hashable, Sendable {
    public let account: String
    public let unit: String
    public let amount: Int64

    public init(_ account: String, _ unit: String, _ amount: Int64) {
        self.account = account
        self.unit = unit
        self.amount = amount
    }
}

/// Well-known account names.
public enum Account {
    public static let points = "PTS"

    public static func member(_ number: MemberNumber) -> String { "member:\(number)" }
    /// An issuer's points account: minus its outstanding liability.
    public static func issuer(_ id: PartnerID) -> String { "issuer:\(id)" }
    public static func reported(_ id: PartnerID) -> String { "reported:\(id)" }
    public static func converted(_ id: PartnerID) -> String { "converted:\(id)" }
    public static func rounding(_ id: PartnerID) -> String { "rounding:\(id)" }
    /// Money a partner is due from other partners (plus) …
    public static func receivable(_ id: PartnerID) -> String { "receivable:\(id)" }
    /// … and owes them (minus).
    public static func payable(_ id: PartnerID) -> String { "payable:\(id)" }
    public static func unit(of partner: Partner) -> String { "\(partner.id).\(partner.unit.code)" }
}

/// An entry in the journal: balanced legs per unit, the record that caused it, and its link
/// in the hash chain.
public struct Posting: Hashable, Sendable {
    public let seq: Int64
    public let batch: Int64
    public let kind: PostingKind
    public let partner: PartnerID?
    public let recordID: String?
    public let member: MemberNumber?
    /// The other member of a transfer: the one who receives.
    public let counterparty: MemberNumber?
    public let occurredAt: Timestamp
    /// The amount as the partner reported it, in its own unit (0 where none).
    public let units: Int64
    /// The coalition points the posting moved for the member (signed).
    public let points: Int64
    public let legs: [Leg]
    /// The legs as stored and hashed: `Posting.encode(legs)`, made once.
    public let legsText: String
    /// What a later reversal needs: the rate used, the lots consumed. Part of the hash.
    public let detail: String
    /// SHA-256 of the previous posting's hash and this posting's canonical bytes.
    public internal(set) var hash: [UInt8]

    public init(
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
        self.legs = legs
        self.legsText = Posting.encode(legs)
        self.detail = detail
        self.hash = hash
    }

    public var recordKey: RecordKey? {
        guard let partner, let recordID else { return nil }
        return RecordKey(trusted: partner, recordID)
    }

    /// `account unit amount` triples joined by `;`: how legs are stored and hashed.
    public static func encode(_ legs: [Leg]) -> String {
        var text = ""
        text.reserveCapacity(legs.count * 32)
        for (index, leg) in legs.enumerated() {
            if index > 0 { text.append(";") }
            text.append(leg.account)
            text.append(" ")
            text.append(leg.unit)
            text.append(" ")
            text.append(String(leg.amount))
        }
        return text
    }

    /// The legs of `text`, or nil if it is not what `encode` writes.
    public static func decodeLegs(_ text: String) -> [Leg]? {
        if text.isEmpty { return [] }
        var legs: [Leg] = []
        for part in text.split(separator: ";", omittingEmptySubsequences: false) {
            let fields = part.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 3, let amount = Int64(fields[2]) else { return nil }
            legs.append(Leg(String(fields[0]), String(fields[1]), amount))
        }
        return legs
    }

    /// The bytes the hash chain covers, in a fixed field order separated by `|`.
    public func canonicalText(legsText: String) -> String {
        "\(seq)|\(batch)|\(kind.rawValue)|\(partner?.rawValue ?? "")|\(recordID ?? "")|"
            + "\(member.map { String($0.value) } ?? "")|\(occurredAt.seconds)|\(units)|\(points)|"
            + "\(legsText)|\(detail)" + (counterparty.map { "|c=\($0.value)" } ?? "")
    }

    /// The chain link: SHA-256 of `previous` followed by the canonical text.
    public static func chainHash(previous: [UInt8], canonical: String, using hasher: SHA256) -> [UInt8] {
        hasher.update(previous)
        hasher.update(canonical)
        return hasher.finish()
    }

    /// The hash of the posting before the first.
    public static let genesisHash = [UInt8](repeating: 0, count: 32)
}

/// What one partner owes another for a cross-brand redemption (or, with a negative amount,
/// the undoing of one). Issuer pays redeemer.
public struct Obligation: Hashable, Sendable {
    public let id: Int64
    public let postingSeq: Int64
    /// The batch whose record caused it.
    public let batch: Int64
    /// The issuer of the points: it pays.
    public let debtor: PartnerID
    /// The partner where the points were spent: it is paid.
    public let creditor: PartnerID
    public let currency: Currency
    /// Minor units of `currency`; negative where a reversal undoes an earlier obligation.
    public let amount: Int64
    public let points: Int64
    public let occurredAt: Timestamp
    /// The record that caused it, and the member whose points moved.
    public let source: RecordKey
    public let member: MemberNumber
    /// The clearing cycle it was settled in; nil while open.
    public var cycle: Int64?

    public init(
        id: Int64,
        postingSeq: Int64,
        batch: Int64,
        debtor: PartnerID,
        creditor: PartnerID,
        currency: Currency,
        amount: Int64,
        points: Int64,
        occurredAt: Timestamp,
        source: RecordKey,
        member: MemberNumber,
        cycle: Int64?
    ) {
        self.id = id
        self.postingSeq = postingSeq
        self.batch = batch
        self.debtor = debtor
        self.creditor = creditor
        self.currency = currency
        self.amount = amount
        self.points = points
        self.occurredAt = occurredAt
        self.source = source
        self.member = member
        self.cycle = cycle
    }
}
