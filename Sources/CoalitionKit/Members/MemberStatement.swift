/// A member's statement over a period: the opening balance, every movement with its
/// partner, rate and record, and the closing balance.
public struct MemberStatement: Sendable {
    public struct Line: Sendable {
        public let at: Timestamp
        public let kind: String
        public let partner: PartnerID?
        public let recordID: String?
        public let points: Int64
        public let balance: Int64
        public let description: String
    }

    public let opening: Int64
    public let closing: Int64
    public let lines: [Line]

    public init(ledger: Ledger, member: MemberNumber, from: Timestamp, to: Timestamp) throws {
        // In effective-time order (journal order within an instant): a record may take effect
        // before one applied earlier.
        let all = try ledger.store.postings(member: member, in: Timestamp(seconds: 0)...to).sorted {
            $0.occurredAt != $1.occurredAt ? $0.occurredAt < $1.occurredAt : $0.seq < $1.seq
        }
        let account = Account.member(member)
        func change(_ posting: Posting) -> Int64 {
            posting.legs.filter { $0.account == account && $0.unit == Account.points }.reduce(0) { $0 + $1.amount }
        }
        var balance: Int64 = 0
        var lines: [Line] = []
        var opening: Int64 = 0
        for posting in all {
            let delta = change(posting)
            if posting.occurredAt < from {
                opening += delta
                balance += delta
                continue
            }
            balance += delta
            let detail = PostingDetail(posting.detail)
            var kind = posting.kind.description
            var text = ""
            let partner = posting.partner == .transfers ? nil : posting.partner
            switch posting.kind {
            case .earn where posting.member != member, .reverseEarn where posting.member != member:
                // The referrer's side of a referred member's earn (the bonus) or of its
                // reversal (the bonus taken back).
                kind = posting.kind == .earn ? "referral bonus" : "referral bonus back"
                text = "for referring member \(posting.member.map { "\($0)" } ?? "?")"
            case .enroll:
                text = "enrolled"
                if let referrer = detail.referrer { text += ", referred by member \(referrer)" }
            case .earn:
                text = "\(posting.units) units at \(detail.rate?.decimalDescription ?? "?") points each"
                if let bonus = detail.bonus { text += ", tier bonus \(bonus)" }
                if let referral = detail.referralBonus, referral.referredPoints > 0 {
                    text += ", referral bonus \(referral.referredPoints) (referred by member \(referral.referrer))"
                }
            case .redeem:
                text = "\(posting.units) units at \(detail.rate?.decimalDescription ?? "?") points each"
            case .reverseEarn, .reverseRedeem:
                text = "reverses \(detail.original ?? "?")"
                if let back = detail.referralBack, back.referred > 0 {
                    text += ", referral bonus \(back.referred) back"
                }
            case .transfer:
                if posting.member == member {
                    kind = "transfer out"
                    text =
                        "to \(posting.counterparty.map { "\($0)" } ?? "?")"
                        + ((detail.fee ?? 0) > 0 ? ", fee \(detail.fee!)" : "")
                } else {
                    kind = "transfer in"
                    text = "from \(posting.member.map { "\($0)" } ?? "?")"
                }
            case .expire:
                text = "points past their expiry"
            case .settle, .tier:
                break
            }
            lines.append(
                Line(
                    at: posting.occurredAt,
                    kind: kind,
                    partner: partner,
                    recordID: posting.partner == .transfers ? nil : posting.recordID,
                    points: delta,
                    balance: balance,
                    description: text
                )
            )
        }
        self.opening = opening
        self.closing = balance
        self.lines = lines
    }
}
