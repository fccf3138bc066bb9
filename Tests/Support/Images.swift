import CoalitionKit
import Testing

// Values in forms that compare as a whole, and the checks of the books after a cycle.

/// A ledger state in a form that compares as a whole: every field of `LedgerSnapshot`.
public struct StateImage: Equatable, CustomStringConvertible {
    public let members: [MemberNumber: MemberAccount]
    public let accounts: [AccountKey: Int64]
    public let records: RecordIndex
    public let lastSeq: Int64
    public let lastHash: [UInt8]
    public let lastBatch: Int64
    public let lastLotID: Int64
    public let lastObligationID: Int64
    public let referrals: [MemberNumber: Referral]

    /// The state; with `includingBatchLog` false, without the batch counter (a batch whose
    /// every record was rejected is still logged).
    public init(_ state: LedgerSnapshot, includingBatchLog: Bool = true) {
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

    public var description: String {
        "\(members.count) members, \(accounts.count) accounts, \(records.count) records, seq \(lastSeq), "
            + "batch \(lastBatch), lot \(lastLotID), obligation \(lastObligationID)"
    }
}

/// One currency's clearing in a form that compares as a whole.
public struct ClearingImage: Equatable, CustomStringConvertible {
    public let currency: String
    public let gross: [PartnerID: [PartnerID: Int64]]
    public let net: [Participant: Int64]
    public let fees: [PartnerID: Int64]
    public let centralCounterparty: [SettlementInstruction]
    public let fewestPayments: [SettlementInstruction]

    public init(_ clearing: CurrencyClearing) {
        currency = clearing.currency.code
        gross = clearing.gross
        net = clearing.net
        fees = clearing.fees
        centralCounterparty = clearing.centralCounterparty
        fewestPayments = clearing.fewestPayments
    }

    public var description: String { "\(currency): net \(net.sorted { $0.key < $1.key })" }
}

/// A closed cycle in a form that compares as a whole: every field of `ClearingCycle`.
public struct CycleImage: Equatable, CustomStringConvertible {
    public let number: Int64
    public let through: Timestamp
    public let closedAt: Timestamp
    public let watermark: Int64
    public let obligationCount: Int
    public let postingSeq: Int64
    public let clearings: [ClearingImage]
    public let batches: [BatchReference]

    public init(_ cycle: ClearingCycle) {
        number = cycle.number
        through = cycle.through
        closedAt = cycle.closedAt
        watermark = cycle.watermark
        obligationCount = cycle.obligationCount
        postingSeq = cycle.postingSeq
        clearings = cycle.clearings.map(ClearingImage.init)
        batches = cycle.batches
    }

    public var description: String {
        "cycle \(number) through \(through): \(obligationCount) obligations, \(clearings)"
    }
}

extension CycleCloser.Result {
    /// The cycle a close made; nil when it was already closed.
    public var closedCycle: ClearingCycle? {
        if case .closed(let cycle) = self { return cycle }
        return nil
    }

    /// The last cycle, when the close made nothing new.
    public var alreadyClosedCycle: ClearingCycle? {
        if case .alreadyClosed(let cycle) = self { return cycle }
        return nil
    }
}

/// What the books say partners are due (receivable) and owe (payable), without zero balances.
public func receivablesAndPayables(_ ledger: Ledger) -> [AccountKey: Int64] {
    ledger.state.accounts.filter {
        ($0.key.account.hasPrefix("receivable:") || $0.key.account.hasPrefix("payable:")) && $0.value != 0
    }
}

/// What the open obligations say partners are due and owe, without zero sums.
public func openObligationBalances(_ ledger: Ledger) throws -> [AccountKey: Int64] {
    var out: [AccountKey: Int64] = [:]
    for o in try ledger.store.obligations(openOnly: true) {
        out[AccountKey(Account.receivable(o.creditor), o.currency.code), default: 0] += o.amount
        out[AccountKey(Account.payable(o.debtor), o.currency.code), default: 0] -= o.amount
    }
    return out.filter { $0.value != 0 }
}

/// After a close: a clean audit, and receivables and payables that are exactly the open
/// obligations (everything a cycle took moved into settlement).
public func expectBooksAfterClose(_ ledger: Ledger, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let audit = try Audit.run(ledger)
    #expect(audit.problems == [], sourceLocation: sourceLocation)
    #expect(
        receivablesAndPayables(ledger) == (try openObligationBalances(ledger)),
        sourceLocation: sourceLocation
    )
}
