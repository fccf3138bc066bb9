/// What `audit` found: the journal walked, and every fault.
package struct AuditReport: Sendable {
    package var postings: Int64 = 0
    package var headHash: [UInt8] = Posting.genesisHash
    package var problems: [String] = []

    package var isClean: Bool { problems.isEmpty }

    /// Notes a fault; the report keeps the first 100.
    mutating func note(_ text: String) {
        if problems.count < 100 { problems.append(text) }
    }
}

/// What the journal adds up to: each account's balance per unit, each member's points, and
/// the latest moment a posting names.
private struct JournalTotals {
    var accounts: [AccountKey: Int64] = [:]
    var members: [MemberNumber: Int64] = [:]
    var latest: Timestamp?
}
/// Checks a ledger from its store: the hash chain of every posting, that every posting
/// balances per unit, that the balances the journal adds up to are the balances the store
/// holds, that obligations match the money legs, and the invariants of DESIGN.md.
package enum Audit {
    /// Audits `ledger`; `progress`, if given, is told the postings walked so far, every
    /// 1,024 of them (the journal holds `ledger.state.lastSeq`).
    package static func run(_ ledger: Ledger, progress: ((Int64) -> Void)? = nil) throws -> AuditReport {
        var report = AuditReport()
        let totals = try walkJournal(ledger, &report, progress: progress)
        compareBalances(ledger.state, totals, &report)
        try compareOpenObligations(ledger, &report)
        for text in try CycleAudit.problems(ledger) { report.note(text) }
        do {
            try Invariants.check(ledger.state, asOf: totals.latest)
        } catch let error as CoalitionError {
            report.note(error.message)
        }
        return report
    }

    /// Walks every posting in order: the sequence has no gaps, each hash continues the chain,
    /// each posting balances per unit, and the journal's last hash is the ledger's head.
    private static func walkJournal(
        _ ledger: Ledger,
        _ report: inout AuditReport,
        progress: ((Int64) -> Void)?
    ) throws -> JournalTotals {
        let hasher = SHA256()
        var canonical = CanonicalBytes()
        var expectedSeq: Int64 = 1
        var previous = Posting.genesisHash
        var totals = JournalTotals()
        try ledger.store.forEachPosting { posting in
            report.postings += 1
            if report.postings & 1023 == 0 { progress?(report.postings) }
            if posting.seq != expectedSeq {
                report.note("posting \(expectedSeq) is missing: the journal jumps to \(posting.seq)")
            }
            expectedSeq = posting.seq + 1
            posting.canonicalBytes(into: &canonical)
            let hash = Posting.chainHash(previous: previous, canonical: canonical, using: hasher)
            if !constantTimeEqual(hash, posting.hash) {
                report.note(
                    "posting \(posting.seq) does not match the hash chain: it was altered, or one before it was"
                )
            }
            previous = posting.hash
            totals.latest = max(totals.latest ?? posting.occurredAt, posting.occurredAt)
            var perUnit: [String: Int64] = [:]
            for leg in posting.legs {
                perUnit[leg.unit, default: 0] &+= leg.amount
                if leg.account.hasPrefix("member:") {
                    guard let number = try? MemberNumber(String(leg.account.dropFirst("member:".count))) else {
                        report.note("posting \(posting.seq) names a member account that is not a member number")
                        continue
                    }
                    totals.members[number, default: 0] &+= leg.amount
                } else {
                    totals.accounts[AccountKey(leg.account, leg.unit), default: 0] &+= leg.amount
                }
            }
            for (unit, sum) in perUnit.sorted(by: { $0.key < $1.key }) where sum != 0 {
                report.note("posting \(posting.seq) does not balance in \(unit): its legs sum to \(sum)")
            }
        }
        report.headHash = previous
        if report.postings > 0 && !constantTimeEqual(previous, ledger.state.lastHash) {
            report.note("the journal's last hash is not the ledger's head")
        }
        return totals
    }

    /// The balances the store holds, account by account and member by member, against the
    /// journal's sums.
    private static func compareBalances(_ state: LedgerSnapshot, _ totals: JournalTotals, _ report: inout AuditReport) {
        for key in Set(totals.accounts.keys).union(state.accounts.keys).sorted() {
            let journal = totals.accounts[key] ?? 0
            let held = state.accounts[key] ?? 0
            if journal != held {
                report.note("\(key.account) holds \(held) \(key.unit) but the journal adds up to \(journal)")
            }
        }
        for number in Set(totals.members.keys).union(state.members.keys).sorted() {
            let journal = totals.members[number] ?? 0
            let held = state.members[number]?.balance ?? 0
            if journal != held {
                report.note("member \(number) holds \(held) points in lots but the journal adds up to \(journal)")
            }
        }
    }

    /// What partners are due and owe must be exactly their open obligations: closed cycles
    /// moved the rest into settlement.
    private static func compareOpenObligations(_ ledger: Ledger, _ report: inout AuditReport) throws {
        let state = ledger.state
        var open: [AccountKey: Int64] = [:]
        for obligation in try ledger.store.obligations(openOnly: true) {
            let code = obligation.currency.code
            open[AccountKey(Account.receivable(obligation.creditor), code), default: 0] += obligation.amount
            open[AccountKey(Account.payable(obligation.debtor), code), default: 0] -= obligation.amount
        }
        for key in Set(open.keys).union(
            state.accounts.keys.filter { $0.account.hasPrefix("receivable:") || $0.account.hasPrefix("payable:") }
        ).sorted() {
            let held = state.accounts[key] ?? 0
            let expected = open[key] ?? 0
            if held != expected {
                report.note("\(key.account) holds \(held) \(key.unit) but its open obligations add up to \(expected)")
            }
        }
    }
}
