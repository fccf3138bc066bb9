/// A member's statement over a period: the opening balance, every movement with its
/// partner, rate and record, and the closing balance.
///
/// Balances are of live points: a lot the member still holds past its expiry date (dead,
/// `expire` not yet run) leaves the balance on that date in an "expired" line, and what is
/// dead at the end of the period is shown apart (`expiredPending`), not in `closing`.
package struct MemberStatement: Sendable {
    package struct Line: Sendable {
        package let at: Timestamp
        package let kind: String
        package let partner: PartnerID?
        package let recordID: String?
        package let points: Int64
        package let balance: Int64
        package let description: String
    }

    package let opening: Int64
    package let closing: Int64
    package let lines: [Line]
    /// Points the member holds that are past their expiry at the end of the period, their
    /// breakage pending until `expire` books it: not in `closing`.
    package let expiredPending: Int64

    package init(ledger: Ledger, member: MemberNumber, from: Timestamp, to: Timestamp) throws {
        // In effective-time order (journal order within an instant): a record may take effect
        // before one applied earlier.
        let all = try ledger.store.postings(member: member, in: Timestamp(seconds: 0)...to).sorted {
            $0.occurredAt != $1.occurredAt ? $0.occurredAt < $1.occurredAt : $0.seq < $1.seq
        }
        let account = Account.member(member)
        func change(_ posting: Posting) -> Int64 {
            posting.legs.filter { $0.account == account && $0.unit == Account.points }.reduce(0) { $0 + $1.amount }
        }
        // Lots still held but dead by `to` leave the balance on their expiry date (before
        // the postings of that instant: a lot is dead at its `expiresAt`).
        let dead = (ledger.member(member)?.lots ?? []).filter { $0.expiresAt <= to }.sorted {
            $0.expiresAt != $1.expiresAt ? $0.expiresAt < $1.expiresAt : $0.id < $1.id
        }
        var deaths = dead[...]
        var balance: Int64 = 0
        var lines: [Line] = []
        var opening: Int64 = 0
        func die(before time: Timestamp?) {
            while let lot = deaths.first, time.map({ lot.expiresAt <= $0 }) ?? true {
                deaths.removeFirst()
                balance -= lot.points
                if lot.expiresAt < from {
                    opening -= lot.points
                    continue
                }
                lines.append(
                    Line(
                        at: lot.expiresAt,
                        kind: "expired",
                        partner: lot.issuer,
                        recordID: nil,
                        points: -lot.points,
                        balance: balance,
                        description: "past its expiry, breakage pending (lot \(lot.id))"
                    )
                )
            }
        }
        for posting in all {
            die(before: posting.occurredAt)
            let delta = change(posting)
            if posting.occurredAt < from {
                opening += delta
                balance += delta
                continue
            }
            balance += delta
            let (kind, text) = Self.describe(posting, for: member)
            let partner = posting.partner == .transfers ? nil : posting.partner
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
        die(before: nil)
        self.opening = opening
        self.closing = balance
        self.expiredPending = dead.reduce(0) { $0 + $1.points }
        self.lines = lines
    }

    /// A posting's line kind and description as `member` sees it.
    static func describe(_ posting: Posting, for member: MemberNumber) -> (kind: String, text: String) {
        let detail = PostingDetail(posting.detail)
        var kind = posting.kind.description
        var text = ""
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
        return (kind, text)
    }
}
