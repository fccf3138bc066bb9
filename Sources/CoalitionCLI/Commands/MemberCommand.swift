import CoalitionKit
import Foundation

struct MemberShowCommand: Command {
    static let path = ["member", "show"]
    static let summary = "show a member: balance, lots with issuer and expiry, obligations caused"
    static let synopsis = "NUMBER"
    static let options: [OptionSpec] = [
        .value("at", "TIME", "the time the balance and lots are shown as of (default now)")
    ]
    static let discussion = """
        The balance is the points alive at the time, less any debt. Points past their expiry
        are dead: never spendable, not in the balance, and shown apart as "expired, breakage
        pending" until `expire` books their breakage.
        """

    static func run(_ context: Context) throws -> ExitCode {
        let number = try MemberNumber(try positional(context, count: 1)[0])
        let ledger = try context.data.open()
        guard let account = ledger.member(number) else {
            throw CoalitionError(.unknownMember, "no member \(number) in this ledger")
        }
        let obligations = try ledger.store.obligations(causedBy: number)
        let now = try context.arguments.time("at") ?? Clock.now
        let network = ledger.network
        let tier = network.tiers[account.tier]
        let qualifying = account.qualifyingPoints(at: now, windowDays: network.tierWindowDays)
        let next = network.nextTier(for: account, at: now)
        let history = try ledger.store.tierChanges(member: number)
        // Where the network runs a referral programme: the member's code and their referrer.
        let referralCode = try network.referrals?.code(for: number)
        let referredBy = ledger.state.referrals.links[number]?.referrer
        let referralBonuses = try ledger.referralBonuses(of: number)
        let referralLots = Set(referralBonuses.filter { !$0.isTakenBack }.map(\.lot))
        if context.json {
            let answer = MemberAnswer(
                account: account,
                network: network,
                at: now,
                tierHistory: history,
                obligations: obligations,
                referral: referralCode.map { (code: $0, referredBy: referredBy) },
                referralBonuses: referralBonuses
            )
            Output.json(answer, slashes: .escaped)
            return .success
        }
        Output.line("Member \(number)\(account.isClosed ? " (closed)" : "")")
        Output.line("  enrolled \(account.enrolledAt.date)\(account.enrolledBy.map { " through \($0)" } ?? "")")
        if let referralCode { printReferral(referralCode, referredBy: referredBy, bonuses: referralBonuses) }
        Output.line("  balance: \(Points.grouped(account.balance(at: now))) points")
        let pending = account.expiredPending(at: now)
        if pending != 0 {
            Output.line("  expired, breakage pending: \(Points.grouped(pending)) points (not in the balance)")
        }
        Output.line(
            "  tier: \(tier.name) since \(account.tierSince.date) (earn bonus \(tier.bonusPercent)%); "
                + "\(Points.grouped(qualifying)) qualifying points in the last \(network.tierWindowDays) days"
        )
        if let next {
            Output.line("  next tier: \(next.tier.name) needs \(Points.grouped(next.missing)) more qualifying points")
        }
        for change in history {
            Output.line("  \(change.at.date): \(change.from) → \(change.to) (\(change.reason))")
        }
        Output.line("")
        printLots(account, referralLots: referralLots, at: now)
        Output.line("")
        printObligations(obligations)
        return .success
    }

    /// The member's referral code, who referred them, and the referral bonuses paid to them.
    static func printReferral(_ code: ReferralCode, referredBy: MemberNumber?, bonuses: [MemberReferralBonus]) {
        Output.line("  referral code: \(code)")
        if let referredBy { Output.line("  referred by member \(referredBy)") }
        for bonus in bonuses {
            let reason =
                bonus.role == .referred
                ? "for enrolling with member \(bonus.otherMember)'s code"
                : "for referring member \(bonus.otherMember)"
            Output.line(
                "  referral bonus: \(Points.grouped(bonus.points)) points from \(bonus.issuer) on "
                    + "\(bonus.paidAt.date), \(reason)\(bonus.isTakenBack ? " (taken back)" : "")"
            )
        }
    }

    /// The member's lots, and their debts, as a table.
    static func printLots(_ account: MemberAccount, referralLots: Set<Int64>, at now: Timestamp) {
        if account.lots.isEmpty && account.debts.isEmpty {
            Output.line("  no lots")
        } else {
            var table = TextTable(["lot", "issuer", "points", "earned", "expires"], numeric: [0, 2])
            for lot in account.lots {
                table.add([
                    String(lot.id),
                    lot.issuer.rawValue
                        + (referralLots.contains(lot.id) ? " (referral bonus)" : lot.isBonus ? " (bonus)" : ""),
                    Points.grouped(lot.points),
                    lot.earnedAt.date, lot.expiresAt.date + (lot.expiresAt <= now ? " (expired)" : ""),
                ])
            }
            for debt in account.debts {
                table.add([
                    String(debt.id), debt.issuer.rawValue + " (debt)", Points.grouped(debt.points), debt.earnedAt.date,
                    "-",
                ])
            }
            Output.line(table.render())
        }
    }

    /// The obligations between partners that the member's records caused.
    static func printObligations(_ obligations: [Obligation]) {
        if obligations.isEmpty {
            Output.line("  no obligations between partners caused by this member")
        } else {
            Output.line("  obligations between partners caused by this member:")
            var table = TextTable(["record", "date", "issuer pays", "redeemer", "points", "amount"], numeric: [4, 5])
            for o in obligations {
                table.add([
                    o.source.description, o.occurredAt.date, o.debtor.rawValue, o.creditor.rawValue,
                    Points.grouped(o.points), Money(o.amount, o.currency).description,
                ])
            }
            Output.line(table.render())
        }
    }

}
