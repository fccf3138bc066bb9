/// One record a partner asks the ledger to apply: the unit of idempotency and of rejection.
package struct LedgerRecord: Hashable, Sendable {
    package enum Body: Hashable, Sendable {
        /// A new member joins through the partner, referred by the member whose code is
        /// `referralCode` if one is given.
        case enroll(member: MemberNumber, referralCode: ReferralCode? = nil)
        /// The member earned `units` of the partner's unit.
        case earn(member: MemberNumber, units: Int64)
        /// The member spent points worth `units` of the partner's unit at the partner.
        case redeem(member: MemberNumber, units: Int64)
        /// Undoes `units` (nil: all that is left) of the partner's earlier record `original`.
        case reverse(original: String, units: Int64?)
    }

    package let key: RecordKey
    package let occurredAt: Timestamp
    package let body: Body

    package init(key: RecordKey, occurredAt: Timestamp, body: Body) {
        self.key = key
        self.occurredAt = occurredAt
        self.body = body
    }
}

/// What became of one record.
package enum RecordOutcome: Hashable, Sendable {
    /// Applied; `points` is the signed change to the member's balance.
    case accepted(points: Int64)
    case rejected(CoalitionError)

    package var isAccepted: Bool {
        if case .accepted = self { return true }
        return false
    }
}

/// The largest amount one record may carry, in any unit: a trillion. Larger is `BAD_AMOUNT`,
/// which keeps every sum of a batch far from 64-bit overflow.
package let maximumRecordAmount: Int64 = 1_000_000_000_000
