/// A closed clearing cycle as JSON (`cycle show`, `cycle list` and `cycle close` with
/// `--json`): per currency the gross obligations, the nets, the fees and both forms of
/// settlement instructions, amounts in minor units.
package struct CycleAnswer: Encodable, Sendable {
    package struct Instruction: Encodable, Sendable {
        let payer: String
        let payee: String
        let amountMinor: Int64

        init(_ instruction: SettlementInstruction) {
            payer = instruction.payer.description
            payee = instruction.payee.description
            amountMinor = instruction.amount
        }
    }

    /// What one partner owes another before netting.
    package struct Gross: Encodable, Sendable {
        let debtor: String
        let creditor: String
        let amountMinor: Int64
    }

    package struct Clearing: Encodable, Sendable {
        let currency: String
        let grossMinor: Int64
        let netMinor: Int64
        /// `null` where nothing was owed (no efficiency to speak of).
        let nettingEfficiencyBasisPoints: Nullable<Int64>
        let gross: [Gross]
        let net: [String: Int64]
        let fees: [String: Int64]
        let centralCounterparty: [Instruction]
        let fewestPayments: [Instruction]

        init(_ c: CurrencyClearing) {
            currency = c.currency.code
            grossMinor = c.grossTotal
            netMinor = c.netTotal
            nettingEfficiencyBasisPoints = Nullable(c.nettingEfficiencyBasisPoints)
            gross = c.gross.flatMap { debtor, row in
                row.map { Gross(debtor: debtor.rawValue, creditor: $0.key.rawValue, amountMinor: $0.value) }
            }.sorted { $0.debtor + $0.creditor < $1.debtor + $1.creditor }
            net = Dictionary(uniqueKeysWithValues: c.net.map { ($0.key.description, $0.value) })
            fees = Dictionary(uniqueKeysWithValues: c.fees.map { ($0.key.rawValue, $0.value) })
            centralCounterparty = c.centralCounterparty.map(Instruction.init)
            fewestPayments = c.fewestPayments.map(Instruction.init)
        }
    }

    /// A settlement file the cycle cleared.
    package struct Batch: Encodable, Sendable {
        let partner: String
        let sequence: Int64
    }

    let number: Int64
    let through: String
    let closedAt: String
    let obligations: Int
    let posting: Int64
    let currencies: [Clearing]
    let batches: [Batch]
    /// What `cycle close` wrote: the signed statements' paths (absent elsewhere).
    package var statements: [String]?
    /// What `cycle close` wrote: the HTML report's path (absent elsewhere).
    package var report: String?

    package init(_ cycle: ClearingCycle) {
        number = cycle.number
        through = cycle.through.description
        closedAt = cycle.closedAt.description
        obligations = cycle.obligationCount
        posting = cycle.postingSeq
        currencies = cycle.clearings.map(Clearing.init)
        batches = cycle.batches.map { Batch(partner: $0.partner.rawValue, sequence: $0.sequence) }
    }
}

/// The closed cycles, oldest first (`cycle list --json`).
package struct CycleListAnswer: Encodable, Sendable {
    let cycles: [CycleAnswer]

    package init(_ cycles: [ClearingCycle]) { self.cycles = cycles.map(CycleAnswer.init) }
}
