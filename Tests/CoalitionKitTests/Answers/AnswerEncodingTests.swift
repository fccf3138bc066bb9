import CoalitionKit
import Foundation
import Testing

/// The answers replaced `[String: Any]` dictionaries written by `JSONSerialization`: the
/// dictionaries are kept here as the reference, and each answer must encode, with the
/// options the command line uses for it, to the very bytes its dictionary did.
@Suite("JSON answers keep the bytes of the dictionaries they replaced")
struct AnswerEncodingTests {
    /// The command line's options for these answers: pretty, sorted keys, `\/` kept.
    static func encoded(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func serialized(_ object: Any) throws -> String {
        String(
            decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]),
            as: UTF8.self
        )
    }

    /// `cycle show --json` as the command line built it before.
    static func legacy(_ cycle: ClearingCycle) -> [String: Any] {
        [
            "number": cycle.number, "through": cycle.through.description, "closedAt": cycle.closedAt.description,
            "obligations": cycle.obligationCount, "posting": cycle.postingSeq,
            "currencies": cycle.clearings.map { c -> [String: Any] in
                func instructions(_ list: [SettlementInstruction]) -> [[String: Any]] {
                    list.map {
                        ["payer": $0.payer.description, "payee": $0.payee.description, "amountMinor": $0.amount]
                    }
                }
                return [
                    "currency": c.currency.code, "grossMinor": c.grossTotal, "netMinor": c.netTotal,
                    "nettingEfficiencyBasisPoints": c.nettingEfficiencyBasisPoints.map { $0 as Any } ?? NSNull(),
                    "gross": c.gross.flatMap { debtor, row in
                        row.map { ["debtor": debtor.rawValue, "creditor": $0.key.rawValue, "amountMinor": $0.value] }
                    }.sorted { "\($0["debtor"]!)\($0["creditor"]!)" < "\($1["debtor"]!)\($1["creditor"]!)" },
                    "net": Dictionary(uniqueKeysWithValues: c.net.map { ($0.key.description, $0.value) }),
                    "fees": Dictionary(uniqueKeysWithValues: c.fees.map { ($0.key.rawValue, $0.value) }),
                    "centralCounterparty": instructions(c.centralCounterparty),
                    "fewestPayments": instructions(c.fewestPayments),
                ]
            },
            "batches": cycle.batches.map { ["partner": $0.partner.rawValue, "sequence": $0.sequence] },
        ]
    }

    /// An obligation in `member show --json` as the command line built it before.
    static func legacy(_ o: Obligation) -> [String: Any] {
        [
            "id": o.id, "record": o.source.description, "occurredAt": o.occurredAt.description,
            "debtor": o.debtor.rawValue, "creditor": o.creditor.rawValue, "currency": o.currency.code,
            "amountMinor": o.amount,
            "amount": Money.decimal(o.amount, exponent: o.currency.minorUnitExponent, grouped: false),
            "points": o.points, "cycle": o.cycle.map { $0 as Any } ?? NSNull(),
        ]
    }

    @Test("a cycle: gross, nets, fees, instructions and a null efficiency", arguments: 1...12 as ClosedRange<UInt64>)
    func cycle(seed: UInt64) throws {
        let generated = GeneratedObligations(seed: seed)
        let clearings = try Netting.clear(generated.obligations, feeBasisPoints: generated.feeBasisPoints)
        let cycle = ClearingCycle(
            number: Int64(seed),
            through: Timestamp(seconds: 1_795_000_000),
            closedAt: Timestamp(seconds: 1_795_000_300),
            watermark: Int64(generated.obligations.count),
            obligationCount: generated.obligations.count,
            postingSeq: 9_000 + Int64(seed),
            clearings: clearings,
            batches: generated.partners.prefix(3).enumerated().map {
                BatchReference(partner: $0.element, sequence: Int64($0.offset + 1), counterparties: [])
            }
        )
        #expect(!clearings.isEmpty)
        #expect(try Self.encoded(CycleAnswer(cycle)) == Self.serialized(Self.legacy(cycle)))
        let empty = ClearingCycle(
            number: 1,
            through: cycle.through,
            closedAt: cycle.closedAt,
            watermark: 0,
            obligationCount: 0,
            postingSeq: 1,
            clearings: [],
            batches: []
        )
        #expect(
            try Self.encoded(CycleListAnswer([empty, cycle]))
                == Self.serialized(["cycles": [empty, cycle].map(Self.legacy)])
        )
    }

    @Test("obligations: a record key's slash escaped, an open cycle as null", arguments: 1...4 as ClosedRange<UInt64>)
    func obligations(seed: UInt64) throws {
        var obligations = Array(GeneratedObligations(seed: seed).obligations.prefix(200))
        for index in obligations.indices where index % 3 == 0 { obligations[index].cycle = Int64(index) }
        for o in obligations {
            #expect(try Self.encoded(ObligationAnswer(o)) == Self.serialized(Self.legacy(o)))
        }
        let text = try Self.encoded(ObligationAnswer(obligations[1]))
        #expect(text.contains("\"cycle\" : null") && text.contains("\\/G2"))
    }

    @Test("a value left out, a value written as null")
    func absentAndNull() throws {
        struct Sample: Encodable {
            let absent: Int?
            let null: Nullable<Int64>
            let present: Nullable<String>?
        }
        #expect(
            try Self.encoded(Sample(absent: nil, null: Nullable(nil), present: Nullable("a/b")))
                == "{\n  \"null\" : null,\n  \"present\" : \"a\\/b\"\n}"
        )
        #expect(
            try Self.encoded(Sample(absent: 1, null: Nullable(2), present: nil))
                == "{\n  \"absent\" : 1,\n  \"null\" : 2\n}"
        )
    }
}
