import CoalitionKit
import Foundation

struct PartnersListCommand: Command {
    static let path = ["partners", "list"]
    static let summary = "list the network's partners, their units and current rates"
    static let synopsis = ""

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let ledger = try context.data.open()
        let now = Clock.now
        if context.json {
            Output.json(PartnerListAnswer(ledger.network.sortedPartners, at: now))
            return .success
        }
        var table = TextTable(["partner", "name", "kind", "unit", "points per unit", "currency", "value per point"])
        for p in ledger.network.sortedPartners {
            table.add([
                p.id.rawValue, p.name, p.kind.rawValue, p.unit.name,
                p.earnRates.value(at: now)?.decimalDescription ?? "-", p.settlementCurrency.code,
                p.redemptionValues.value(at: now)?.decimalDescription ?? "-",
            ])
        }
        Output.line(table.render(indent: ""))
        return .success
    }
}

struct PartnersShowCommand: Command {
    static let path = ["partners", "show"]
    static let summary = "show one partner: unit, rate history, redemption values, keys"
    static let synopsis = "PARTNER"

    static func run(_ context: Context) throws -> ExitCode {
        let text = try positional(context, count: 1)[0]
        let ledger = try context.data.open()
        let partner = try ledger.network.partner(named: text)
        let now = Clock.now
        let outstanding = ledger.outstanding(partner.id)
        if context.json {
            var object = PartnerAnswer(partner, at: now)
            object.pointsOutstanding = outstanding
            Output.json(object)
            return .success
        }
        Output.line("\(partner.name) (\(partner.id)), \(partner.kind.rawValue)")
        Output.line(
            "  unit: \(partner.unit.name) (\(partner.unit.code)); settles in \(partner.settlementCurrency.code)"
        )
        Output.line("  points outstanding as issuer: \(Points.grouped(outstanding))")
        Output.line("\n  earn rates (coalition points per \(partner.unit.code)):")
        for entry in partner.earnRates.entries {
            Output.line("    from \(entry.from)  \(entry.value.decimalDescription)")
        }
        Output.line("\n  redemption values (\(partner.settlementCurrency.code) per point):")
        for entry in partner.redemptionValues.entries {
            Output.line("    from \(entry.from)  \(entry.value.decimalDescription)")
        }
        Output.line("\n  keys:")
        for key in partner.keys {
            let until = key.validUntil.map { "until \($0)" } ?? "no end"
            let state =
                key.revocation.map { "REVOKED at \($0.at): \($0.reason)" }
                ?? (key.isValid(at: now) ? "valid now" : "not valid now")
            Output.line("    \(key.id)  from \(key.validFrom) \(until)  \(state)\(key.isDemo ? "  DEMO KEY" : "")")
        }
        return .success
    }
}

/// The wall clock, in whole UTC seconds.
///
/// `COALITION_CLOCK=YYYY-MM-DDTHH:MM:SSZ` stops it at that time, for the crash harness
/// (`.ci/crash`), which compares the files of an interrupted run with an uninterrupted one's
/// byte for byte: acknowledgements and statements carry the time they were made. Not for
/// operating a network.
enum Clock {
    private static let fixed: Timestamp? = ProcessInfo.processInfo.environment["COALITION_CLOCK"].flatMap {
        try? Timestamp(parsing: $0)
    }

    static var now: Timestamp {
        fixed ?? Timestamp(seconds: Int64(Date().timeIntervalSince1970.rounded(.down)))
    }
}
