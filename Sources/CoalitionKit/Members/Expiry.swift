/// What an expiry run ended.
package struct ExpiryResult: Sendable {
    package var members = 0
    package var lots = 0
    package var points: Int64 = 0
    /// Points that became breakage, per issuer.
    package var breakage: [PartnerID: Int64] = [:]
}

extension BatchBuilder {
    /// Ends every lot of `number` whose expiry is at or before `asOf`: the points become
    /// breakage of their issuer, which ends that issuer's liability for them.
    func expire(_ number: MemberNumber, asOf: Timestamp, into result: inout ExpiryResult) throws {
        guard var account = member(number) else { return }
        let ending = account.lots.filter { $0.expiresAt <= asOf }
        guard !ending.isEmpty else { return }
        var effect = Effect(key: nil, occurredAt: asOf)
        effect.kind = .expire
        effect.member = number
        var total: Int64 = 0
        for lot in ending {
            effect.leg(member: number, -lot.points)
            effect.leg(booked: book.breakage(lot.issuer), lot.points)
            effect.expiredLots[lot.id] = ExpiredLot(
                lotID: lot.id,
                member: number,
                issuer: lot.issuer,
                points: lot.points,
                expiredAt: asOf,
                reversed: 0
            )
            var spent = lot
            spent.points = 0
            effect.changed(spent)
            total += lot.points
            result.breakage[lot.issuer, default: 0] += lot.points
        }
        account.lots.removeAll { $0.expiresAt <= asOf }
        effect.points = -total
        effect.detail = PostingDetail.expiry(of: ending)
        effect.members[number] = account
        try post(effect)
        result.members += 1
        result.lots += ending.count
        result.points += total
    }

    /// Reviews `number`'s tier at `asOf` by the network's downgrade policy; returns the change.
    func reviewTier(_ number: MemberNumber, asOf: Timestamp) -> TierChange? {
        guard var account = member(number), let (target, qualifying) = network.reviewedTier(of: account, asOf: asOf)
        else { return nil }
        let change = TierChange(
            member: number,
            at: asOf,
            from: network.tiers[account.tier].name,
            to: network.tiers[target].name,
            reason: "review: \(qualifying) qualifying points in \(network.tierWindowDays) days"
                + (target < account.tier ? " (\(network.downgradePolicy.rawValue) policy)" : "")
        )
        account.tier = target
        account.tierSince = asOf
        record(account, rowChanged: true)
        write.tierChanges.append(change)
        return change
    }
}

extension Network {
    /// The tier a review at `asOf` moves `account` to, and its qualifying points; nil when
    /// it stays (or is closed). A downgrade needs a tier set before `asOf`'s day.
    func reviewedTier(of account: MemberAccount, asOf: Timestamp) -> (tier: Int, qualifying: Int64)? {
        guard !account.isClosed else { return nil }
        let qualifying = account.qualifyingPoints(at: asOf, windowDays: tierWindowDays)
        let supported = tierIndex(forQualifying: qualifying)
        var target = account.tier
        if supported > account.tier {
            target = supported
        } else if supported < account.tier, QualifyingDay.day(of: account.tierSince) < QualifyingDay.day(of: asOf) {
            // A review is idempotent per date: a tier set on the review's day or later (by a
            // review of that day, rerun, or of a later one) is not moved down again.
            target = downgradePolicy == .oneTier ? account.tier - 1 : supported
        }
        return target == account.tier ? nil : (target, qualifying)
    }
}

extension Ledger {
    /// Moves points from one member to another (`coalition member transfer`, and the HTTP
    /// API to come), as one batch.
    package func transfer(_ request: TransferRequest) throws -> TransferResult {
        // A retry with a key already used is answered without a batch: it writes nothing,
        // not even an empty batch row (the rerun after a crash must leave what one run leaves).
        if let keyText = request.idempotencyKey {
            let key = try RecordKey(partner: .transfers, recordID: keyText)
            if let candidate = state.records.candidate(for: key), let entry = try confirm(candidate, for: key) {
                return try request.replay(of: try store.posting(seq: entry.seq), key: keyText)
            }
        }
        return try batch(BatchInfo(source: "transfer", receivedAt: request.at)) { session in
            try session.withBuilder { try $0.transfer(request) }
        }
    }

    /// Ends every lot past its date at `asOf`, in one batch. Running it again for the same
    /// date finds nothing new.
    package func expire(asOf: Timestamp, now: Timestamp) throws -> ExpiryResult {
        let due = state.members.values.filter { account in account.lots.contains { $0.expiresAt <= asOf } }
            .map(\.number).sorted()
        var result = ExpiryResult()
        guard !due.isEmpty else { return result }
        try batch(BatchInfo(source: "expiry:\(asOf)", receivedAt: now)) { session in
            for chunk in stride(from: 0, to: due.count, by: 4096) {
                try session.withBuilder { builder in
                    for number in due[chunk..<min(due.count, chunk + 4096)] {
                        try builder.expire(number, asOf: asOf, into: &result)
                    }
                }
            }
        }
        return result
    }

    /// Reviews every member's tier at `asOf` (`coalition tiers review`), in one batch; a
    /// review that changes no tier writes nothing (so running it again writes nothing).
    package func reviewTiers(asOf: Timestamp, now: Timestamp) throws -> [TierChange] {
        let numbers = state.members.values.filter { network.reviewedTier(of: $0, asOf: asOf) != nil }.map(\.number)
            .sorted()
        var changes: [TierChange] = []
        guard !numbers.isEmpty else { return changes }
        try batch(BatchInfo(source: "tier-review:\(asOf)", receivedAt: now)) { session in
            try session.withBuilder { builder in
                for number in numbers {
                    if let change = builder.reviewTier(number, asOf: asOf) { changes.append(change) }
                }
            }
        }
        return changes
    }
}
