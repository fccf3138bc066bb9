/// The invariants of DESIGN.md, checked on a ledger state. `audit` and the tests use them.
package enum Invariants {
    /// Throws `AUDIT_FAILED` naming the first invariant that does not hold.
    ///
    /// `time` is the latest instant the ledger has applied a record at: a member who owes a
    /// debt may still hold lots that expired by then (expired points cannot repay a debt;
    /// they become breakage), but none that could still be spent. Without it, a member who
    /// owes a debt may hold no lot at all.
    package static func check(_ state: LedgerSnapshot, asOf time: Timestamp? = nil) throws {
        func fail(_ message: String) -> CoalitionError { CoalitionError(.auditFailed, message) }

        var lotsByIssuer: [String: Int64] = [:]  // by issuer account
        var memberTotal: Int64 = 0
        var lotIDs = Set<Int64>()
        for (number, account) in state.members {
            if !account.debts.isEmpty,
                let lot = account.lots.first(where: { lot in time.map { lot.expiresAt > $0 } ?? true })
            {
                throw fail("member \(number) holds lot \(lot.id), which has not expired, while owing a debt")
            }
            for (index, lot) in account.lots.enumerated() {
                guard lot.points > 0 else { throw fail("member \(number) has an empty or negative lot \(lot.id)") }
                guard lot.member == number else { throw fail("lot \(lot.id) is filed under the wrong member") }
                if index > 0 && !Lot.consumedBefore(account.lots[index - 1], lot) {
                    throw fail("member \(number)'s lots are out of consumption order at lot \(lot.id)")
                }
            }
            for lot in account.lots + account.debts {
                guard lotIDs.insert(lot.id).inserted else { throw fail("lot \(lot.id) is held twice") }
                lotsByIssuer[Account.issuer(lot.issuer), default: 0] += lot.points
            }
            for debt in account.debts where debt.points >= 0 {
                throw fail("member \(number) has a debt lot \(debt.id) that is not negative")
            }
            memberTotal += account.balance
        }

        var totals: [String: Int64] = [Account.points: memberTotal]
        // An issuer's liability is its issuer account plus its breakage account.
        var liability: [String: Int64] = [:]  // by issuer account name
        for (key, balance) in state.accounts {
            totals[key.unit, default: 0] += balance
            guard key.unit == Account.points else { continue }
            if key.account.hasPrefix("issuer:") {
                liability[key.account, default: 0] -= balance
            } else if key.account.hasPrefix("breakage:") {
                liability["issuer:" + key.account.dropFirst("breakage:".count), default: 0] -= balance
            }
        }
        var issuerTotal: Int64 = 0
        for (issuer, owed) in liability.sorted(by: { $0.key < $1.key }) {
            issuerTotal -= owed
            let held = lotsByIssuer[issuer] ?? 0
            guard held == owed else {
                throw fail("\(issuer): open lots hold \(held) points but its liability is \(owed)")
            }
        }
        for (issuer, held) in lotsByIssuer where held != 0 && liability[issuer] == nil {
            throw fail("\(issuer): open lots hold \(held) points but it has no liability account")
        }
        guard memberTotal == -issuerTotal else {
            throw fail("member balances total \(memberTotal) but issuers' liability totals \(-issuerTotal)")
        }
        for (unit, total) in totals.sorted(by: { $0.key < $1.key }) where total != 0 {
            throw fail("the books do not balance in \(unit): they sum to \(total)")
        }
    }
}
