/// The `key=value;…` detail of a posting, read back for reversals and statements.
public struct PostingDetail: Sendable {
    public var rate: Rate?
    public var value: Rate?
    public var lot: Int64?
    public var bonus: Int64?
    public var bonusLot: Int64?
    /// The tier a member held before the upgrade an earn caused.
    public var tierBefore: Int?
    public var fee: Int64?
    var parts: [ConsumedPart] = []
    /// A reversal's points per issuer: taken from the member's lots (an earn's), or given
    /// back to them (a redemption's).
    var split: [IssuerPoints] = []
    public var original: String?
    /// The points an earn reversal left the member owing the reversing partner (a debt).
    public var debt: Int64?
    /// An enrolment's referrer (`ref=`).
    public var referrer: MemberNumber?
    /// The referral bonus an earn paid (`refbonus=`).
    public var referralBonus: ReferralBonus?
    /// The referral bonus points a reversal took back from the referred member and the
    /// referrer (`refback=`).
    public var referralBack: (issuer: PartnerID, referred: Int64, referrer: Int64)?

    public init(_ text: String) {
        for field in text.split(separator: ";") {
            guard let eq = field.firstIndex(of: "=") else { continue }
            let key = field[..<eq]
            let value = field[field.index(after: eq)...]
            switch key {
            case "r": rate = try? Rate(parsing: String(value))
            case "v": self.value = try? Rate(parsing: String(value))
            case "lot": lot = Int64(value)
            case "bonus": bonus = Int64(value)
            case "bonuslot": bonusLot = Int64(value)
            case "up": tierBefore = Int(value)
            case "fee": fee = Int64(value)
            case "of": original = String(value)
            case "debt": debt = Int64(value)
            case "parts": parts = value.split(separator: ",").compactMap { ConsumedPart(encoded: $0) }
            case "ref": referrer = Int64(value).flatMap { try? MemberNumber(stored: $0) }
            case "refbonus": referralBonus = ReferralBonus(encoded: value)
            case "refback":
                let f = value.split(separator: ":")
                if f.count == 3, let issuer = try? PartnerID(String(f[0])), let a = Int64(f[1]), let b = Int64(f[2]) {
                    referralBack = (issuer, a, b)
                }
            case "split": split = value.split(separator: ",").compactMap { IssuerPoints(encoded: $0) }
            default: break
            }
        }
    }
}

/// Points of one issuer that a record moved, in a reversal's detail (`split=`) and in an
/// acknowledgement's `I` lines.
struct IssuerPoints: Hashable {
    let issuer: PartnerID
    var points: Int64

    /// Adds `points` of `issuer` to `split`, keeping issuers in the order first met.
    static func add(_ points: Int64, of issuer: PartnerID, to split: inout [IssuerPoints]) {
        guard points != 0 else { return }
        if let index = split.firstIndex(where: { $0.issuer == issuer }) {
            split[index].points += points
        } else {
            split.append(IssuerPoints(issuer: issuer, points: points))
        }
    }

    /// `;split=<issuer>:<points>,…`, or nothing for an empty split.
    static func detail(_ split: [IssuerPoints]) -> String {
        split.isEmpty ? "" : ";split=" + split.map { "\($0.issuer):\($0.points)" }.joined(separator: ",")
    }

    init(issuer: PartnerID, points: Int64) {
        self.issuer = issuer
        self.points = points
    }

    init?(encoded: Substring) {
        let fields = encoded.split(separator: ":")
        guard fields.count == 2, let issuer = try? PartnerID(String(fields[0])), let points = Int64(fields[1]) else {
            return nil
        }
        self.init(issuer: issuer, points: points)
    }
}

/// The referral bonus an earn paid, as its posting's detail keeps it:
/// `refbonus=<referrer>:<issuer>:<referred points>:<referred lot>:<referrer points>:<referrer lot>`
/// (a lot id 0: no lot).
public struct ReferralBonus: Hashable, Sendable {
    public let referrer: MemberNumber
    public let issuer: PartnerID
    public var referredPoints: Int64
    public var referredLot: Int64
    public var referrerPoints: Int64
    public var referrerLot: Int64

    var encoded: String {
        "\(referrer.value):\(issuer):\(referredPoints):\(referredLot):\(referrerPoints):\(referrerLot)"
    }

    init(
        referrer: MemberNumber,
        issuer: PartnerID,
        referredPoints: Int64,
        referredLot: Int64,
        referrerPoints: Int64,
        referrerLot: Int64
    ) {
        self.referrer = referrer
        self.issuer = issuer
        self.referredPoints = referredPoints
        self.referredLot = referredLot
        self.referrerPoints = referrerPoints
        self.referrerLot = referrerLot
    }

    init?(encoded: Substring) {
        let f = encoded.split(separator: ":")
        guard f.count == 6, let referrer = Int64(f[0]).flatMap({ try? MemberNumber(stored: $0) }),
            let issuer = try? PartnerID(String(f[1])), let a = Int64(f[2]), let b = Int64(f[3]), let c = Int64(f[4]),
            let d = Int64(f[5])
        else { return nil }
        self.init(
            referrer: referrer,
            issuer: issuer,
            referredPoints: a,
            referredLot: b,
            referrerPoints: c,
            referrerLot: d
        )
    }
}

/// Part of a lot that a redemption (or a debt repayment) consumed.
struct ConsumedPart {
    let lotID: Int64
    let issuer: PartnerID
    let earnedAt: Timestamp
    let expiresAt: Timestamp
    let points: Int64
    let isBonus: Bool

    init(lot: Lot, points: Int64) {
        lotID = lot.id
        issuer = lot.issuer
        earnedAt = lot.earnedAt
        expiresAt = lot.expiresAt
        self.points = points
        isBonus = lot.isBonus
    }

    init(lotID: Int64, issuer: PartnerID, earnedAt: Timestamp, expiresAt: Timestamp, points: Int64, isBonus: Bool) {
        self.lotID = lotID
        self.issuer = issuer
        self.earnedAt = earnedAt
        self.expiresAt = expiresAt
        self.points = points
        self.isBonus = isBonus
    }

    /// `lot:issuer:earned:expires:points:bonus`, as posting details keep it (and
    /// `init?(encoded:)` reads), appended to `bytes`.
    func write(into bytes: inout CanonicalBytes) {
        bytes.append(lotID)
        bytes.append(separator: 58)  // ":"
        bytes.append(issuer)
        bytes.append(separator: 58)
        bytes.append(earnedAt.seconds)
        bytes.append(separator: 58)
        bytes.append(expiresAt.seconds)
        bytes.append(separator: 58)
        bytes.append(points)
        bytes.append(separator: 58)
        bytes.append(separator: isBonus ? 49 : 48)  // "1" or "0"
    }

    init?(encoded: Substring) {
        let f = encoded.split(separator: ":")
        guard f.count == 6, let lot = Int64(f[0]), let issuer = try? PartnerID(String(f[1])),
            let earned = Int64(f[2]), let expires = Int64(f[3]), let points = Int64(f[4])
        else { return nil }
        self.init(
            lotID: lot,
            issuer: issuer,
            earnedAt: Timestamp(seconds: earned),
            expiresAt: Timestamp(seconds: expires),
            points: points,
            isBonus: f[5] == "1"
        )
    }
}
