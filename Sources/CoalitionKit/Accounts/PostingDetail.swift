/// The `key=value;…` detail of a posting: written by the functions of this type (each
/// posting kind's fields, below `init(_:)`), and read back by `init(_:)` for reversals,
/// acknowledgements and statements. Its keys and formats live here and nowhere else.
package struct PostingDetail: Sendable {
    package var rate: Rate?
    package var value: Rate?
    package var lot: Int64?
    package var bonus: Int64?
    package var bonusLot: Int64?
    /// The tier a member held before the upgrade an earn caused.
    package var tierBefore: Int?
    package var fee: Int64?
    var parts: [ConsumedPart] = []
    /// A reversal's points per issuer: taken from the member's lots (an earn's), or given
    /// back to them (a redemption's).
    var split: [IssuerPoints] = []
    package var original: String?
    /// The points an earn reversal left the member owing the reversing partner (a debt).
    package var debt: Int64?
    /// An enrolment's referrer (`ref=`).
    package var referrer: MemberNumber?
    /// The referral bonus an earn paid (`refbonus=`).
    package var referralBonus: ReferralBonus?
    /// The referral bonus points a reversal took back from the referred member and the
    /// referrer (`refback=`).
    package var referralBack: (issuer: PartnerID, referred: Int64, referrer: Int64)?

    package init(_ text: String) {
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

// MARK: Writing

extension PostingDetail {
    /// An enrolment's: `ref=<referrer>`, for a member who gave a referral code.
    static func enrolment(referrer: MemberNumber) -> String { "ref=\(referrer)" }

    /// An earn's, planned into `detail`:
    /// `r=<rate>[;lot=<id>][;bonus=<points>;bonuslot=<id>][;up=<tier before>][;refbonus=<bonus>]`.
    static func writeEarn(
        into detail: inout CanonicalBytes,
        rate: Rate,
        lot: Int64?,
        bonus: (points: Int64, lot: Int64)?,
        tierBefore: Int?,
        referral: ReferralBonus?
    ) {
        detail.append("r=")
        detail.append(rate)
        if let lot {
            detail.append(";lot=")
            detail.append(lot)
        }
        if let bonus {
            detail.append(";bonus=")
            detail.append(bonus.points)
            detail.append(";bonuslot=")
            detail.append(bonus.lot)
        }
        if let tierBefore {
            // The tier held before the upgrade this earn caused: what its reversal goes back to.
            detail.append(";up=")
            detail.append(Int64(tierBefore))
        }
        if let referral {
            detail.append(";refbonus=")
            detail.append(referral.encoded)
        }
    }

    /// A redemption's, planned into `detail`: `r=<rate>;v=<value>;parts=<part>,…`.
    static func writeRedemption(into detail: inout CanonicalBytes, rate: Rate, value: Rate, parts: [ConsumedPart]) {
        detail.append("r=")
        detail.append(rate)
        detail.append(";v=")
        detail.append(value)
        detail.append(";parts=")
        for (index, part) in parts.enumerated() {
            if index > 0 { detail.append(separator: 44) }  // ","
            part.write(into: &detail)
        }
    }

    /// A reversal's first field: `of=<the original record id>`.
    static func reversal(of original: String) -> String { "of=\(original)" }

    /// A reversal's `;refback=<issuer>:<referred points>:<referrer points>`: the referral
    /// bonus points it took back.
    static func referralBack(issuer: PartnerID, referred: Int64, referrer: Int64) -> String {
        ";refback=\(issuer):\(referred):\(referrer)"
    }

    /// A reversal's `;split=<issuer>:<points>,…`, or nothing for an empty split.
    static func split(_ split: [IssuerPoints]) -> String {
        split.isEmpty ? "" : ";split=" + split.map { "\($0.issuer):\($0.points)" }.joined(separator: ",")
    }

    /// An earn reversal's `;debt=<points>`: what it left the member owing; nothing for none.
    static func debt(_ points: Int64) -> String { points > 0 ? ";debt=\(points)" : "" }

    /// A transfer's: `to=<receiver>;fee=<points>`.
    static func transfer(to receiver: MemberNumber, fee: Int64) -> String { "to=\(receiver);fee=\(fee)" }

    /// An expiry's: `lots=<lot id>:<points>,…`, the lots it ended.
    static func expiry(of lots: [Lot]) -> String {
        "lots=" + lots.map { "\($0.id):\($0.points)" }.joined(separator: ",")
    }

    /// A cycle's settlement: `cycle=<number>`.
    static func settlement(cycle number: Int64) -> String { "cycle=\(number)" }
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
package struct ReferralBonus: Hashable, Sendable {
    package let referrer: MemberNumber
    package let issuer: PartnerID
    package var referredPoints: Int64
    package var referredLot: Int64
    package var referrerPoints: Int64
    package var referrerLot: Int64

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
