import CoalitionKit

/// Turns generated activity into settlement files, one per partner and period, as partners
/// would send them: what `coalition seed` writes into `seeds/` and the demo ingests.
package enum SeedFiles {
    package struct File: Sendable {
        package let header: FileHeader
        package let records: [LedgerRecord]

        package init(header: FileHeader, records: [LedgerRecord]) {
            self.header = header
            self.records = records
        }
    }

    /// Groups `records` by partner and period; a partner's n-th period is its batch n, created
    /// at the end of the period.
    package static func split(
        _ records: [LedgerRecord],
        plan: ActivityGenerator.Plan,
        firstSequence: [PartnerID: Int64] = [:],
        keyID: (PartnerID, Timestamp) -> String
    ) -> [File] {
        let period = Int64(max(1, plan.periodDays)) * Timestamp.secondsPerDay
        var groups: [PartnerID: [Int64: [LedgerRecord]]] = [:]
        for record in records {
            let index = (record.occurredAt.seconds - plan.start.seconds) / period
            groups[record.key.partner, default: [:]][index, default: []].append(record)
        }
        var files: [File] = []
        for (partner, periods) in groups {
            for (sequence, index) in periods.keys.sorted().enumerated() {
                let createdAt = plan.start.adding(seconds: (index + 1) * period)
                let header = FileHeader(
                    kind: .settlement,
                    partner: partner,
                    sequence: Int64(sequence) + (firstSequence[partner] ?? 1),
                    createdAt: createdAt,
                    keyID: keyID(partner, createdAt)
                )
                files.append(File(header: header, records: periods[index]!))
            }
        }
        return files.sorted { ($0.header.createdAt, $0.header.partner) < ($1.header.createdAt, $1.header.partner) }
    }

    /// A reference a partner's system might put on a record: a booking or receipt number.
    package static func reference(for record: LedgerRecord) -> String {
        let id = record.key.recordID
        switch record.body {
        case .enroll: return "signup \(id.suffix(4))"
        case .earn: return "receipt \(id.suffix(6))"
        case .redeem: return "award \(id.suffix(6))"
        case .reverse: return "correction \(id.suffix(6))"
        }
    }
}
