import CoalitionKit

/// The audit's check of a saved state (SQLite's state file, PostgreSQL's snapshot row, in
/// the same format): a state that passed its own checks must still be exactly the state the
/// tables hold.
package enum SavedState {
    /// Where `saved` differs from `tables`, at most 20 places, each named as `name`'s
    /// ("the state file's member 7 is not what the tables hold").
    package static func differences(saved: LedgerSnapshot, tables: LedgerSnapshot, named name: String) -> [String] {
        var problems: [String] = []
        func problem(_ text: String) {
            if problems.count < 20 { problems.append("the \(name)'s \(text) is not what the tables hold") }
        }
        if StateMark(saved) != StateMark(tables) { problem("mark (last batch, posting, hash, counters)") }
        for number in Set(saved.members.keys).union(tables.members.keys).sorted()
        where saved.members[number] != tables.members[number] {
            problem("member \(number)")
        }
        for key in Set(saved.accounts.keys).union(tables.accounts.keys).sorted()
        where saved.accounts[key] != tables.accounts[key] {
            problem("balance of \(key.account) in \(key.unit)")
        }
        for number in Set(saved.referrals.links.keys).union(tables.referrals.links.keys).sorted()
        where saved.referrals.links[number] != tables.referrals.links[number] {
            problem("referral of member \(number)")
        }
        return problems
    }
}
