import CoalitionKit

/// The answer to an applied single record (`POST /v1/records`, `docs/api.md`): what the
/// journal holds of it, read back after the commit, so a replay gets the very same bytes.
package struct RecordReceipt: Encodable, Sendable, Equatable {
    /// One issuer's share of the record's points: the signed change to the member's points
    /// of that issuer (a redemption takes them from the oldest lots first, whoever issued
    /// them).
    package struct IssuerShare: Encodable, Sendable, Equatable {
        package let issuer: String
        package let points: Int64
    }

    /// An obligation between partners the record made: the issuer pays the partner where its
    /// points were spent, in that partner's settlement currency, minor units (negative where
    /// a reversal undoes one).
    package struct ObligationMade: Encodable, Sendable, Equatable {
        package let id: Int64
        package let debtor: String
        package let creditor: String
        package let currency: String
        package let amount: Int64
        package let points: Int64
    }

    package let recordId: String
    package let type: String
    package let outcome: String
    /// The journal's posting and the batch it was committed in.
    package let posting: Int64
    package let batch: Int64
    package let member: String?
    package let occurredAt: String
    /// The units of the partner's unit the record carried (for a reversal, those undone).
    package let units: Int64
    /// The signed change to the member's points.
    package let points: Int64
    package let issuers: [IssuerShare]
    package let obligations: [ObligationMade]

    init(posting: Posting, obligations: [Obligation]) {
        recordId = posting.recordID ?? ""
        type = RecordReceipt.type(of: posting.kind)
        outcome = "accepted"
        self.posting = posting.seq
        batch = posting.batch
        member = posting.member?.description
        occurredAt = posting.occurredAt.description
        units = posting.units
        points = posting.points
        // An issuer's points account moves against the member's points: minus its legs.
        var shares: [IssuerShare] = []
        let prefix = "issuer:"  // `Account.issuer(_:)`
        for leg in posting.legs where leg.unit == Account.points && leg.account.hasPrefix(prefix) {
            let issuer = String(leg.account.dropFirst(prefix.count))
            if let index = shares.firstIndex(where: { $0.issuer == issuer }) {
                shares[index] = IssuerShare(issuer: issuer, points: shares[index].points - leg.amount)
            } else {
                shares.append(IssuerShare(issuer: issuer, points: -leg.amount))
            }
        }
        // A referral bonus's lot for the referrer (and its clawback) is another member's
        // points: left out, so the split sums to this member's `points`.
        if posting.detail.contains("ref") {
            let detail = PostingDetail(posting.detail)
            var other: [String: Int64] = [:]
            if let bonus = detail.referralBonus { other[bonus.issuer.rawValue, default: 0] += bonus.referrerPoints }
            if let back = detail.referralBack { other[back.issuer.rawValue, default: 0] -= back.referrer }
            shares = shares.compactMap { share in
                guard let points = other[share.issuer] else { return share }
                return share.points == points ? nil : IssuerShare(issuer: share.issuer, points: share.points - points)
            }
        }
        issuers = shares.sorted { $0.issuer < $1.issuer }
        self.obligations = obligations.sorted { $0.id < $1.id }.map {
            ObligationMade(
                id: $0.id,
                debtor: $0.debtor.rawValue,
                creditor: $0.creditor.rawValue,
                currency: $0.currency.code,
                amount: $0.amount,
                points: $0.points
            )
        }
    }

    static func type(of kind: PostingKind) -> String {
        switch kind {
        case .enroll: RecordType.enroll.rawValue
        case .earn: RecordType.earn.rawValue
        case .redeem: RecordType.redeem.rawValue
        case .reverseEarn, .reverseRedeem: RecordType.reversal.rawValue
        default: kind.description
        }
    }
}
