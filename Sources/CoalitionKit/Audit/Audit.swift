/// What `audit` found: the journal walked, and every fault.
package struct AuditReport: Sendable {
    package var postings: Int64 = 0
    package var headHash: [UInt8] = Posting.genesisHash
    package var problems: [String] = []

    package var isClean: Bool { problems.isEmpty }
}

/// Checks a ledger from its store: the hash chain of every posting, that every posting
/// balances per unit, that the balances the journal adds up to are the balances the store
/// holds, that obligations match the money legs, and the invariants of DESIGN.md.
package enum Audit {
    /// Audits `ledger`; `progress`, if given, is told the postings walked so far, every
    /// 1,024 of them (the journal holds `ledger.state.lastSeq`).
    package static func run(_ ledger: Ledger, progress: ((Int64) -> Void)? = nil) throws -> AuditReport {
        var report = AuditReport()
        let hasher = SHA256()
        var canonical = CanonicalBytes()
        var expectedSeq: Int64 = 1
        var previous = Posting.genesisHash
        var accounts: [AccountKey: Int64] = [:]
        var members: [MemberNumber: Int64] = [:]
        var latest: Timestamp?
        func problem(_ text: String) {
            if report.problems.count < 100 { report.problems.append(text) }
        }
        try ledger.store.forEachPosting { posting in
            report.postings += 1
            if report.postings & 1023 == 0 { progress?(report.postings) }
            if posting.seq != expectedSeq {
                problem("posting \(expectedSeq) is missing: the journal jumps to \(posting.seq)")
            }
            expectedSeq = posting.seq + 1
            posting.canonicalBytes(into: &canonical)
            let hash = Posting.chainHash(previous: previous, canonical: canonical, using: hasher)
            if !constantTimeEqual(hash, posting.hash) {
                problem("posting \(posting.seq) does not match the hash chain: it was altered, or one before it was")
            }
            previous = posting.hash
            latest = max(latest ?? posting.occurredAt, posting.occurredAt)
            var perUnit: [String: Int64] = [:]
            for leg in posting.legs {
                perUnit[leg.unit, default: 0] &+= leg.amount
                if leg.account.hasPrefix("member:") {
                    guard let number = try? MemberNumber(String(leg.account.dropFirst("member:".count))) else {
                        problem("posting \(posting.seq) names a member account that is not a member number")
                        continue
                    }
                    members[number, default: 0] &+= leg.amount
                } else {
                    accounts[AccountKey(leg.account, leg.unit), default: 0] &+= leg.amount
                }
            }
            for (unit, sum) in perUnit.sorted(by: { $0.key < $1.key }) where sum != 0 {
                problem("posting \(posting.seq) does not balance in \(unit): its legs sum to \(sum)")
            }
        }
        report.headHash = previous
        if report.postings > 0 && !constantTimeEqual(previous, ledger.state.lastHash) {
            problem("the journal's last hash is not the ledger's head")
        }

        let state = ledger.state
        for key in Set(accounts.keys).union(state.accounts.keys).sorted() {
            let journal = accounts[key] ?? 0
            let held = state.accounts[key] ?? 0
            if journal != held {
                problem("\(key.account) holds \(held) \(key.unit) but the journal adds up to \(journal)")
            }
        }
        for number in Set(members.keys).union(state.members.keys).sorted() {
            let journal = members[number] ?? 0
            let held = state.members[number]?.balance ?? 0
            if journal != held {
                problem("member \(number) holds \(held) points in lots but the journal adds up to \(journal)")
            }
        }

        // What partners are due and owe must be exactly their open obligations: closed cycles
        // moved the rest into settlement.
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
                problem("\(key.account) holds \(held) \(key.unit) but its open obligations add up to \(expected)")
            }
        }

        for text in try CycleAudit.problems(ledger) { problem(text) }

        do {
            try Invariants.check(state, asOf: latest)
        } catch let error as CoalitionError {
            problem(error.message)
        }
        return report
    }
}
