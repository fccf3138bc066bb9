import CoalitionKit
import Testing

// Values in forms that compare as a whole, and the checks of the books after a cycle.

/// A ledger state in a form that compares as a whole: every field of `LedgerSnapshot`.
package struct StateImage: Equatable, CustomStringConvertible {
    package let members: [MemberNumber: MemberAccount]
    package let accounts: [AccountKey: Int64]
    package let records: RecordIndex
    package let lastSeq: Int64
    package let lastHash: [UInt8]
    package let lastBatch: Int64
    package let lastLotID: Int64
    package let lastObligationID: Int64
    package let referrals: [MemberNumber: Referral]

    /// The state; with `includingBatchLog` false, without the batch counter (a batch whose
    /// every record was rejected is still logged).
    package init(_ state: LedgerSnapshot, includingBatchLog: Bool = true) {
        members = state.members
        accounts = state.accounts
        records = state.records
        lastSeq = state.lastSeq
        lastHash = state.lastHash
        lastBatch = includingBatchLog ? state.lastBatch : 0
        lastLotID = state.lastLotID
        lastObligationID = state.lastObligationID
        referrals = state.referrals.links
    }

    package var description: String {
        "\(members.count) members, \(accounts.count) accounts, \(records.count) records, seq \(lastSeq), "
            + "batch \(lastBatch), lot \(lastLotID), obligation \(lastObligationID)"
    }
}

/// One currency's clearing in a form that compares as a whole.
package struct ClearingImage: Equatable, CustomStringConvertible {
    package let currency: String
    package let gross: [PartnerID: [PartnerID: Int64]]
    package let net: [Participant: Int64]
    package let fees: [PartnerID: Int64]
    package let centralCounterparty: [SettlementInstruction]
    package let fewestPayments: [SettlementInstruction]

    package init(_ clearing: CurrencyClearing) {
        currency = clearing.currency.code
        gross = clearing.gross
        net = clearing.net
        fees = clearing.fees
        centralCounterparty = clearing.centralCounterparty
        fewestPayments = clearing.fewestPayments
    }

    package var description: String { "\(currency): net \(net.sorted { $0.key < $1.key })" }
}

/// A closed cycle in a form that compares as a whole: every field of `ClearingCycle`.
package struct CycleImage: Equatable, CustomStringConvertible {
    package let number: Int64
    package let through: Timestamp
    package let closedAt: Timestamp
    package let watermark: Int64
    package let obligationCount: Int
    package let postingSeq: Int64
    package let clearings: [ClearingImage]
    package let batches: [BatchReference]

    package init(_ cycle: ClearingCycle) {
        number = cycle.number
        through = cycle.through
        closedAt = cycle.closedAt
        watermark = cycle.watermark
        obligationCount = cycle.obligationCount
        postingSeq = cycle.postingSeq
        clearings = cycle.clearings.map(ClearingImage.init)
        batches = cycle.batches
    }

    package var description: String {
        "cycle \(number) through \(through): \(obligationCount) obligations, \(clearings)"
    }
}

extension CycleCloser.Result {
    /// The cycle a close made; nil when it was already closed.
    package var closedCycle: ClearingCycle? {
        if case .closed(let cycle) = self { return cycle }
        return nil
    }

    /// The last cycle, when the close made nothing new.
    package var alreadyClosedCycle: ClearingCycle? {
        if case .alreadyClosed(let cycle) = self { return cycle }
        return nil
    }
}

/// What the books say partners are due (receivable) and owe (payable), without zero balances.
package func receivablesAndPayables(_ ledger: Ledger) -> [AccountKey: Int64] {
    ledger.state.accounts.filter {
        ($0.key.account.hasPrefix("receivable:") || $0.key.account.hasPrefix("payable:")) && $0.value != 0
    }
}

/// What the open obligations say partners are due and owe, without zero sums.
package func openObligationBalances(_ ledger: Ledger) throws -> [AccountKey: Int64] {
    var out: [AccountKey: Int64] = [:]
    for o in try ledger.store.obligations(openOnly: true) {
        out[AccountKey(Account.receivable(o.creditor), o.currency.code), default: 0] += o.amount
        out[AccountKey(Account.payable(o.debtor), o.currency.code), default: 0] -= o.amount
    }
    return out.filter { $0.value != 0 }
}

/// After a close: a clean audit, and receivables and payables that are exactly the open
/// obligations (everything a cycle took moved into settlement).
package func expectBooksAfterClose(_ ledger: Ledger, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let audit = try Audit.run(ledger)
    #expect(audit.problems == [], sourceLocation: sourceLocation)
    #expect(
        receivablesAndPayables(ledger) == (try openObligationBalances(ledger)),
        sourceLocation: sourceLocation
    )
}
