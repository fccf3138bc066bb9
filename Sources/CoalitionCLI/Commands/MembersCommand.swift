import CoalitionKit
import Foundation

struct MemberTransferCommand: Command {
    static let path = ["member", "transfer"]
    static let summary = "move points from one member to another, within the network's limits"
    static let synopsis = "FROM TO POINTS"
    static let options: [OptionSpec] = [
        .value("idempotency-key", "K", "the same key with the same content returns the first result"),
        .value(
            "at",
            "TIME",
            "when the transfer takes effect (default now; not before either member's latest movement)"
        ),
        waitOption,
    ]
    static let discussion = """
        Moves lots soonest-expiring first, keeping their issuer and expiry: no partner owes
        another for a transfer. The network file sets the limits: minimum, step, maximum per
        transfer, points sent and received per calendar year, transfers per day, month and
        year (calendar periods in the network's time zone, timeZone), and a fee in
        points taken from the sender. Exits 1 when the transfer is refused.
        """

    static func run(_ context: Context) throws -> ExitCode {
        let words = try positional(context, count: 3)
        let from = try MemberNumber(words[0])
        let to = try MemberNumber(words[1])
        guard let points = Int64(words[2]) else {
            throw CoalitionError(.badAmount, "'\(words[2])' is not a whole number of points")
        }
        let ledger = try context.openForWriting()
        let given = try context.arguments.time("at")
        let request = TransferRequest(
            from: from,
            to: to,
            points: points,
            idempotencyKey: context.arguments.value("idempotency-key"),
            at: given ?? Clock.now,
            takesEffectNow: given == nil
        )
        let result: TransferResult
        do {
            result = try ledger.transfer(request)
        } catch let error as CoalitionError where !error.isStoreFault && error.code != .io {
            if context.json {
                Output.json(TransferRefusal(code: error.code.rawValue, message: error.message), slashes: .escaped)
            } else {
                Output.error("coalition member transfer: \(error)")
            }
            return .rejected
        }
        if context.json {
            Output.json(TransferAnswer(result, ok: true), slashes: .escaped)
        } else {
            Output.line(
                "\(result.isReplay ? "Already done (same idempotency key): " : "")transferred \(Points.grouped(result.points)) points from \(from) to \(to)"
                    + (result.fee > 0 ? ", fee \(result.fee) points" : "") + " (posting \(result.seq))"
            )
        }
        return .success
    }
}

struct MemberStatementCommand: Command {
    static let path = ["member", "statement"]
    static let summary = "a member's statement: opening balance, every movement, closing balance, tier"
    static let synopsis = "NUMBER [--from DATE --to DATE]"
    static let options: [OptionSpec] = [
        .value("from", "DATE", "first day (default: enrolment)"),
        .value("to", "DATE", "last day, inclusive (default: today)"),
    ]
    static let discussion = """
        Movements are listed in the order they take effect (journal order within an instant),
        with the balance running from the opening balance (what took effect before --from) to
        the closing balance. Points past their expiry leave the balance on that date ("expired")
        and are shown apart until `expire` books their breakage. --from after --to is a usage
        error.
        """

    static func run(_ context: Context) throws -> ExitCode {
        let number = try MemberNumber(try positional(context, count: 1)[0])
        let ledger = try context.data.open()
        guard let account = ledger.member(number) else { throw CoalitionError(.unknownMember, "no member \(number)") }
        let from = try context.arguments.time("from") ?? account.enrolledAt
        var to = try context.arguments.time("to") ?? Clock.now
        if let text = context.arguments.value("to"), text.count == 10 {
            to = to.adding(seconds: Timestamp.secondsPerDay - 1)
        }
        guard from <= to else {
            throw CoalitionError(.usage, "--from \(from.date) is after --to \(to.date)")
        }
        let statement = try MemberStatement(ledger: ledger, member: number, from: from, to: to)
        if context.json {
            let holder = MemberStatementAnswer.Holder(member: number, tier: ledger.network.tiers[account.tier].name)
            let answer = MemberStatementAnswer(statement, from: from, to: to, holder: holder)
            Output.json(answer, slashes: .escaped)
            return .success
        }
        Output.line("Statement of member \(number), \(from.date) to \(to.date)")
        Output.line("  tier: \(ledger.network.tiers[account.tier].name)")
        Output.line("  opening balance: \(Points.grouped(statement.opening))")
        var table = TextTable(
            ["date", "movement", "partner", "record", "points", "balance", "details"],
            numeric: [4, 5]
        )
        for line in statement.lines {
            table.add([
                line.at.date, line.kind, line.partner?.rawValue ?? "", line.recordID ?? "", Points.grouped(line.points),
                Points.grouped(line.balance), line.description,
            ])
        }
        Output.line(table.render())
        Output.line("  closing balance: \(Points.grouped(statement.closing))")
        if statement.expiredPending > 0 {
            Output.line(
                "  expired, breakage pending: \(Points.grouped(statement.expiredPending)) points (not in the balance)"
            )
        }
        return .success
    }
}

struct ExpireCommand: Command {
    static let path = ["expire"]
    static let summary = "end every lot past its date; the points become their issuer's breakage"
    static let synopsis = "--as-of DATE"
    static let options: [OptionSpec] = [
        .value("as-of", "DATE", "lots expiring at or before this instant end"), waitOption,
    ]
    static let discussion = "Running it again for the same date does nothing new."

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        guard let asOf = try context.arguments.time("as-of") else {
            throw CoalitionError(.usage, "--as-of DATE is required\nusage: \(usage)")
        }
        let ledger = try context.openForWriting()
        let result = try ElapsedLine.around("expiring lots") { try ledger.expire(asOf: asOf, now: Clock.now) }
        if context.json {
            Output.json(ExpiryAnswer(result, asOf: asOf), slashes: .escaped)
        } else {
            Output.line(
                "Expired \(Points.grouped(result.points)) points in \(result.lots) lots of \(result.members) members as of \(asOf)"
            )
            for (issuer, points) in result.breakage.sorted(by: { $0.key < $1.key }) {
                Output.line("  breakage of \(issuer): \(Points.grouped(points))")
            }
        }
        return .success
    }
}

struct TiersReviewCommand: Command {
    static let path = ["tiers", "review"]
    static let summary = "review every member's tier on their qualifying points, by the downgrade policy"
    static let synopsis = "--as-of DATE"
    static let options: [OptionSpec] = [.value("as-of", "DATE", "the end of the trailing window"), waitOption]

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        guard let asOf = try context.arguments.time("as-of") else {
            throw CoalitionError(.usage, "--as-of DATE is required\nusage: \(usage)")
        }
        let ledger = try context.openForWriting()
        let changes = try ElapsedLine.around("reviewing tiers") { try ledger.reviewTiers(asOf: asOf, now: Clock.now) }
        if context.json {
            Output.json(TierReviewAnswer(changes, asOf: asOf), slashes: .escaped)
        } else {
            Output.line("Tier review as of \(asOf): \(changes.count) change\(changes.count == 1 ? "" : "s")")
            for change in changes {
                Output.line("  \(change.member): \(change.from) → \(change.to) (\(change.reason))")
            }
        }
        return .success
    }
}

struct ReportExpiringCommand: Command {
    static let path = ["report", "expiring"]
    static let summary = "members with points about to expire (what a notification service would send)"
    static let synopsis = "--within DAYS"
    static let options: [OptionSpec] = [
        .value("within", "DAYS", "how far ahead to look (default 30)"),
        .value("as-of", "DATE", "look ahead from this instant (default now)"),
    ]

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let days = try context.arguments.integer("within", default: 30, in: 1...3660)
        let ledger = try context.data.open()
        let asOf = try context.arguments.time("as-of") ?? Clock.now
        let until = asOf.adding(days: Int64(days))
        var rows: [(MemberNumber, Int64, Timestamp)] = []
        for account in ledger.state.members.values {
            let expiring = account.lots.filter { $0.expiresAt > asOf && $0.expiresAt <= until }
            guard let first = expiring.map(\.expiresAt).min() else { continue }
            rows.append((account.number, expiring.reduce(0) { $0 + $1.points }, first))
        }
        rows.sort { ($0.2, $0.0) < ($1.2, $1.0) }
        if context.json {
            let members = rows.map { ExpiringAnswer.Member(member: $0.0, points: $0.1, firstExpiry: $0.2) }
            Output.json(ExpiringAnswer(asOf: asOf, until: until, members: members), slashes: .escaped)
        } else {
            Output.line(
                "Points expiring between \(asOf) and \(until): \(rows.count) member\(rows.count == 1 ? "" : "s")"
            )
            var table = TextTable(["member", "points", "first expiry"], numeric: [1])
            for row in rows { table.add([row.0.description, Points.grouped(row.1), row.2.description]) }
            if !rows.isEmpty { Output.line(table.render()) }
        }
        return .success
    }
}

/// What `member transfer --json` prints when the transfer is refused: the reason code and
/// the message, beside `"ok": false`.
struct TransferRefusal: Encodable {
    let ok = false
    let code: String
    let message: String
}
