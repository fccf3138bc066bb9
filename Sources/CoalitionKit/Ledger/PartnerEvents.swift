import Foundation

/// The events the ledger's changes cause, for the partners that take events. Every id is
/// made from what caused the event, so the same cause never makes two events, and a
/// receiver can deduplicate by it.
package enum PartnerEvents {
    /// `acknowledgement.ready` for a settlement file applied as batch `summary`.
    package static func acknowledgementReady(
        _ summary: BatchSummary,
        network: Network,
        at now: Timestamp
    )
        -> [OutboxEvent]
    {
        guard let partnerID = summary.info.partner, let sequence = summary.info.sequence,
            let partner = network.partners[partnerID], partner.webhook != nil
        else { return [] }
        return [
            OutboxEvent(
                id: "evt_ack_\(partnerID)_\(sequence)",
                partner: partnerID,
                type: .acknowledgementReady,
                createdAt: now,
                data: [
                    "partner": .string(partnerID.rawValue),
                    "sequence": .integer(sequence),
                    "records": .integer(Int64(summary.records)),
                    "accepted": .integer(Int64(summary.accepted)),
                    "rejected": .integer(Int64(summary.rejected)),
                    "href": .string("/v1/acknowledgements/\(sequence)"),
                ]
            )
        ]
    }

    /// `cycle.closed` and `statement.ready` for every partner that takes events.
    package static func cycleClosed(_ cycle: ClearingCycle, network: Network, at now: Timestamp) -> [OutboxEvent] {
        var events: [OutboxEvent] = []
        for partner in network.sortedPartners where partner.webhook != nil {
            var net: [EventValue] = []
            for clearing in cycle.clearings {
                if let amount = clearing.net[.partner(partner.id)] {
                    net.append(.object(["currency": .string(clearing.currency.code), "net": .integer(amount)]))
                }
            }
            events.append(
                OutboxEvent(
                    id: "evt_cycle_\(partner.id)_\(cycle.number)",
                    partner: partner.id,
                    type: .cycleClosed,
                    createdAt: now,
                    data: [
                        "cycle": .integer(cycle.number),
                        "through": .string(cycle.through.description),
                        "closedAt": .string(cycle.closedAt.description),
                        "obligations": .integer(Int64(cycle.obligationCount)),
                        "netPositions": .array(net),
                    ]
                )
            )
            events.append(
                OutboxEvent(
                    id: "evt_stmt_\(partner.id)_\(cycle.number)",
                    partner: partner.id,
                    type: .statementReady,
                    createdAt: now,
                    data: [
                        "cycle": .integer(cycle.number),
                        "href": .string("/v1/statements/\(cycle.number)"),
                    ]
                )
            )
        }
        return events
    }

    /// `key.rotation_scheduled` for each key of a partner that takes events whose validity
    /// ends (or that is revoked) after `now`: the partner is told when its key stops working.
    package static func keyRotations(network: Network, at now: Timestamp) -> [OutboxEvent] {
        var events: [OutboxEvent] = []
        for partner in network.sortedPartners where partner.webhook != nil {
            for key in partner.keys {
                guard let ends = key.revocation?.at ?? key.validUntil, ends > now else { continue }
                let successor = partner.keys.first {
                    $0.id != key.id && $0.revocation == nil && $0.validFrom <= ends
                        && ($0.validUntil.map { until in until > ends } ?? true)
                }
                var data: [String: EventValue] = [
                    "partner": .string(partner.id.rawValue),
                    "keyId": .string(key.id),
                    "validUntil": .string(ends.description),
                ]
                if let successor { data["successorKeyId"] = .string(successor.id) }
                events.append(
                    OutboxEvent(
                        id: "evt_key_\(partner.id)_\(key.id)_\(ends.seconds)",
                        partner: partner.id,
                        type: .keyRotationScheduled,
                        createdAt: now,
                        data: data
                    )
                )
            }
        }
        return events
    }

    /// `points.expiring` for each issuer that takes events: its open lots expiring within the
    /// issuer's horizon after `now`, summed by day, one event per issuer and scan day.
    package static func pointsExpiring(_ ledger: Ledger, at now: Timestamp) -> [OutboxEvent] {
        var events: [OutboxEvent] = []
        for partner in ledger.network.sortedPartners {
            guard let webhook = partner.webhook else { continue }
            let horizon = now.adding(days: webhook.expiringWithinDays)
            var byDay: [Int64: (points: Int64, members: Set<MemberNumber>)] = [:]
            for (number, account) in ledger.state.members {
                for lot in account.lots where lot.issuer == partner.id && lot.points > 0 {
                    guard lot.expiresAt > now, lot.expiresAt <= horizon else { continue }
                    let day = lot.expiresAt.startOfDay.seconds
                    byDay[day, default: (0, [])].points += lot.points
                    byDay[day, default: (0, [])].members.insert(number)
                }
            }
            guard !byDay.isEmpty else { continue }
            let days: [EventValue] = byDay.keys.sorted().map { day in
                .object([
                    "date": .string(Timestamp(seconds: day).date),
                    "points": .integer(byDay[day]!.points),
                    "members": .integer(Int64(byDay[day]!.members.count)),
                ])
            }
            events.append(
                OutboxEvent(
                    id: "evt_expiring_\(partner.id)_\(now.date)",
                    partner: partner.id,
                    type: .pointsExpiring,
                    createdAt: now,
                    data: [
                        "issuer": .string(partner.id.rawValue),
                        "withinDays": .integer(webhook.expiringWithinDays),
                        "days": .array(days),
                    ]
                )
            )
        }
        return events
    }
}

extension Network {
    /// This network with `partner` taking events at `endpoint` (what `demo --serve` runs
    /// with: its receiver is started by the demo, not named in the data directory's files).
    package func withWebhook(_ endpoint: WebhookEndpoint, for partner: PartnerID) throws -> Network {
        let old = try self.partner(partner)
        let changed = Partner(
            id: old.id,
            name: old.name,
            kind: old.kind,
            unit: old.unit,
            earnRates: old.earnRates,
            settlementCurrency: old.settlementCurrency,
            redemptionValues: old.redemptionValues,
            keys: old.keys,
            acknowledgementVersion: old.acknowledgementVersion,
            webhook: endpoint
        )
        return Network(
            name: name,
            pointsLifetimeDays: pointsLifetimeDays,
            utcOffsetMinutes: utcOffsetMinutes,
            tiers: tiers,
            tierWindowDays: tierWindowDays,
            downgradePolicy: downgradePolicy,
            transferLimits: transferLimits,
            clearing: clearing,
            partners: sortedPartners.map { $0.id == partner ? changed : $0 },
            timeZone: timeZone
        )
    }
}
