/// Writes settlement files (partner → coalition): what a partner's system produces, and
/// what `coalition seed` and the benchmark generate.
package enum SettlementFile {
    /// The body line of `record`, as a partner writes it.
    package static func line(for record: LedgerRecord, reference: String = "") -> String {
        let id = record.key.recordID
        let at = record.occurredAt.description
        let ref = FieldParser.escape(reference)
        switch record.body {
        case .enroll(let member, let code):
            // The referral code is the optional sixth field: without one the line is as before.
            return "ENROLL|\(id)|\(member)|\(at)|\(ref)" + (code.map { "|\($0)" } ?? "")
        case .earn(let member, let units): return "EARN|\(id)|\(member)|\(units)|\(at)|\(ref)"
        case .redeem(let member, let units): return "REDEEM|\(id)|\(member)|\(units)|\(at)|\(ref)"
        case .reverse(let original, let units):
            return "REVERSAL|\(id)|\(original)|\(units.map(String.init) ?? "")|\(at)|\(ref)"
        }
    }

    /// Counts `record` into the control totals of its file's trailer.
    package static func count(_ record: LedgerRecord, into totals: inout ControlTotals) {
        switch record.body {
        case .enroll: totals.add(.enroll, amount: 0)
        case .earn(_, let units): totals.add(.earn, amount: units)
        case .redeem(_, let units): totals.add(.redeem, amount: units)
        case .reverse(_, let units): totals.add(.reversal, amount: units ?? 0)
        }
    }
}
