import Foundation

/// A member's request to move points to another member.
package struct TransferRequest: Hashable, Sendable {
    package let from: MemberNumber
    package let to: MemberNumber
    package let points: Int64
    /// Makes the request idempotent: the same key with the same content returns the first
    /// result; with other content it is refused.
    package let idempotencyKey: String?
    package let at: Timestamp
    /// True when `at` is simply the time the request was made (no time was given: an
    /// operator's transfer without `--at`, a member's online): it takes effect then, whatever
    /// the dates of other records (a partner's record may be dated a little ahead). False for
    /// a time an operator gave, which must not be before either member's enrolment or latest
    /// movement, nor inside a closed clearing cycle.
    package let takesEffectNow: Bool

    package init(
        from: MemberNumber,
        to: MemberNumber,
        points: Int64,
        idempotencyKey: String?,
        at: Timestamp,
        takesEffectNow: Bool = false
    ) {
        self.from = from
        self.to = to
        self.points = points
        self.idempotencyKey = idempotencyKey
        self.at = at
        self.takesEffectNow = takesEffectNow
    }
}

/// What a transfer did.
package struct TransferResult: Hashable, Sendable {
    package let seq: Int64
    package let points: Int64
    package let fee: Int64
    /// True when the idempotency key was seen before and nothing new happened.
    package let isReplay: Bool
}

extension ReasonCode {
    package static let sameMember: ReasonCode = "SAME_MEMBER"
    package static let transferLimitExceeded: ReasonCode = "TRANSFER_LIMIT_EXCEEDED"
    package static let idempotencyConflict: ReasonCode = "IDEMPOTENCY_CONFLICT"
}

/// Calendar periods in the network's time zone: what transfer limits count in. A time's
/// local day, month and year are those of the wall clock at that instant, with the zone's
/// offset then in force (daylight saving included).
struct NetworkCalendar {
    let timeZone: TimeZone

    init(_ network: Network) { timeZone = network.timeZone }

    private func local(_ t: Timestamp) -> Timestamp {
        t.adding(seconds: Int64(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t.seconds)))))
    }
    func day(_ t: Timestamp) -> Int64 { QualifyingDay.day(of: local(t)) }
    func month(_ t: Timestamp) -> Int {
        let c = local(t).components
        return c.year * 12 + c.month
    }
    func year(_ t: Timestamp) -> Int { local(t).components.year }
}

extension TransferRequest {
    /// The first result of this request's idempotency key, whose transfer is `first`;
    /// `IDEMPOTENCY_CONFLICT` when that transfer was another (members or amount).
    func replay(of first: Posting?, key: String) throws -> TransferResult {
        guard let first, first.member == from, first.counterparty == to, first.units == points else {
            throw CoalitionError(.idempotencyConflict, "idempotency key \(key) was used for another transfer")
        }
        let fee = PostingDetail(first.detail).fee ?? 0
        return TransferResult(seq: first.seq, points: first.units, fee: fee, isReplay: true)
    }
}

extension BatchBuilder {
    /// Moves points between members: lots soonest-expiring first, keeping issuer and expiry;
    /// no obligation between partners arises. Checked against the network's limits.
    func transfer(_ request: TransferRequest) throws -> TransferResult {
        let limits = network.transferLimits
        let keyText = request.idempotencyKey ?? "auto-\(write.batchID)-\(request.from)-\(request.at.seconds)"
        let key = try RecordKey(partner: .transfers, recordID: keyText)
        if let entry = try entry(for: key) {
            return try request.replay(of: try posting(seq: entry.seq), key: keyText)
        }
        guard request.from != request.to else {
            throw CoalitionError(.sameMember, "a member cannot transfer points to themselves")
        }
        var sender = try openMember(request.from)
        var receiver = try openMember(request.to)
        if !request.takesEffectNow { try checkEffectiveTime(request.at, of: [sender, receiver]) }
        let points = request.points
        guard points > 0, points <= maximumRecordAmount else {
            throw CoalitionError(.badAmount, "a transfer moves 1 to \(maximumRecordAmount) points, not \(points)")
        }
        guard points >= limits.minimum else {
            throw CoalitionError(.transferLimitExceeded, "minimum: a transfer moves at least \(limits.minimum) points")
        }
        guard points % limits.step == 0 else {
            throw CoalitionError(.transferLimitExceeded, "step: transfers move multiples of \(limits.step) points")
        }
        guard points <= limits.maximumPerTransfer else {
            throw CoalitionError(
                .transferLimitExceeded,
                "maximum per transfer: at most \(limits.maximumPerTransfer) points at once"
            )
        }
        let time = request.at
        let calendar = NetworkCalendar(network)
        let sent = sender.transfers.filter(\.sent)
        func check(_ limit: Int64?, _ count: Int, _ name: String) throws {
            if let limit, Int64(count) >= limit {
                throw CoalitionError(.transferLimitExceeded, "\(name): at most \(limit) transfers")
            }
        }
        try check(
            limits.transfersPerDay,
            sent.filter { calendar.day($0.at) == calendar.day(time) }.count,
            "transfers per day"
        )
        try check(
            limits.transfersPerMonth,
            sent.filter { calendar.month($0.at) == calendar.month(time) }.count,
            "transfers per month"
        )
        try check(
            limits.transfersPerYear,
            sent.filter { calendar.year($0.at) == calendar.year(time) }.count,
            "transfers per year"
        )
        if let cap = limits.sentPerYear {
            let already = sent.filter { calendar.year($0.at) == calendar.year(time) }.reduce(0) { $0 + $1.points }
            guard already + points <= cap else {
                throw CoalitionError(
                    .transferLimitExceeded,
                    "points sent per year: \(already) of \(cap) already sent this year"
                )
            }
        }
        if let cap = limits.receivedPerYear {
            let already = receiver.transfers.filter { !$0.sent && calendar.year($0.at) == calendar.year(time) }
                .reduce(0) { $0 + $1.points }
            guard already + points <= cap else {
                throw CoalitionError(
                    .transferLimitExceeded,
                    "points received per year: member \(request.to) already received \(already) of \(cap) this year"
                )
            }
        }
        let fee = limits.feePoints
        let available = sender.available(at: time)
        guard available >= points + fee else {
            throw CoalitionError(
                .insufficientPoints,
                "transferring \(points) points\(fee > 0 ? " plus a \(fee)-point fee" : "") needs \(points + fee); member \(request.from) has \(available)"
            )
        }
        var effect = Effect(key: key, occurredAt: time)
        effect.kind = .transfer
        effect.member = request.from
        effect.counterparty = request.to
        effect.units = points
        effect.points = -(points + fee)
        for part in consume(&sender, points, at: time, &effect) {
            let lot = Lot(
                id: nextLotID(),
                member: request.to,
                issuer: part.issuer,
                points: part.points,
                earnedAt: part.earnedAt,
                expiresAt: part.expiresAt,
                isBonus: part.isBonus
            )
            receiver.insert(lot)
            effect.changed(lot)
        }
        effect.leg(member: request.from, -points)
        effect.leg(member: request.to, points)
        if fee > 0 {
            // The fee ends the points it takes, like expiry: breakage of their issuers.
            for part in consume(&sender, fee, at: time, &effect) {
                effect.leg(booked: book.breakage(part.issuer), part.points)
            }
            effect.leg(member: request.from, -fee)
        }
        try settleDebts(&receiver, &effect, at: time)
        sender.recordTransfer(TransferMark(at: time, points: points, sent: true))
        receiver.recordTransfer(TransferMark(at: time, points: points, sent: false))
        effect.detail = PostingDetail.transfer(to: request.to, fee: fee)
        effect.members[request.from] = sender
        effect.members[request.to] = receiver
        try post(effect)
        return TransferResult(seq: lastSeqForResult, points: points, fee: fee, isReplay: false)
    }
}
