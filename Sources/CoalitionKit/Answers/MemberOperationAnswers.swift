/// A transfer between members as JSON: the posting that made it, the points moved, the fee
/// and whether it is the replay of an earlier one with the same idempotency key. What the
/// member API answers (`POST /member/api/transfers`) and `member transfer --json` prints,
/// the latter with `"ok": true` beside it.
package struct TransferAnswer: Encodable, Sendable {
    let ok: Bool?
    let posting: Int64
    let points: Int64
    let fee: Int64
    let replay: Bool

    /// `ok` is for the command line's answer, where a refusal prints `"ok": false`.
    package init(_ result: TransferResult, ok: Bool? = nil) {
        self.ok = ok
        posting = result.seq
        points = result.points
        fee = result.fee
        replay = result.isReplay
    }
}

/// An expiry run as JSON (`expire --json`): the lots ended and the breakage per issuer.
package struct ExpiryAnswer: Encodable, Sendable {
    let asOf: String
    let members: Int
    let lots: Int
    let points: Int64
    let breakage: [String: Int64]

    package init(_ result: ExpiryResult, asOf: Timestamp) {
        self.asOf = asOf.description
        members = result.members
        lots = result.lots
        points = result.points
        breakage = Dictionary(uniqueKeysWithValues: result.breakage.map { ($0.key.rawValue, $0.value) })
    }
}

/// A change of tier as JSON: from which tier to which and why, with the time it took
/// effect (in a member's history) or the member it moved (in a review).
package struct TierChangeAnswer: Encodable, Sendable {
    /// What a change names beside its tiers: the time, or the member.
    package enum Naming: Sendable {
        case time, member
    }

    let at: String?
    let member: String?
    let from: String
    let to: String
    let reason: String

    package init(_ change: TierChange, naming: Naming) {
        at = naming == .time ? change.at.description : nil
        member = naming == .member ? change.member.description : nil
        from = change.from
        to = change.to
        reason = change.reason
    }
}

/// A tier review as JSON (`tiers review --json`): each member's change of tier and why.
package struct TierReviewAnswer: Encodable, Sendable {
    let asOf: String
    let changes: [TierChangeAnswer]

    package init(_ changes: [TierChange], asOf: Timestamp) {
        self.asOf = asOf.description
        self.changes = changes.map { TierChangeAnswer($0, naming: .member) }
    }
}

/// Members whose points expire soon, as JSON (`report expiring --json`), soonest first.
package struct ExpiringAnswer: Encodable, Sendable {
    package struct Member: Encodable, Sendable {
        let member: String
        let points: Int64
        let firstExpiry: String

        package init(member: MemberNumber, points: Int64, firstExpiry: Timestamp) {
            self.member = member.description
            self.points = points
            self.firstExpiry = firstExpiry.description
        }
    }

    let asOf: String
    let until: String
    let members: [Member]

    package init(asOf: Timestamp, until: Timestamp, members: [Member]) {
        self.asOf = asOf.description
        self.until = until.description
        self.members = members
    }
}
