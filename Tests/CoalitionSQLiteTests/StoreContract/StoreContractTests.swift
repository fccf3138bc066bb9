import Testing

// The store contract (`StoreContract`) run once for each engine: the same tests, two stores.

// The PostgreSQL engine joins where COALITION_TEST_POSTGRESQL names a server (`bash .ci/postgres`
// starts one and runs every suite whose name says PostgreSQL, this one included); the other
// PostgreSQL suites say how when they are skipped.
@Suite("Store contract on SQLite and PostgreSQL")
struct SQLiteAndPostgreSQLContractTests {
    static let engines: [StoreEngine] = StoreEngine.isPostgreSQLConfigured ? [.sqlite, .postgresql] : [.sqlite]

    @Test("a reopened ledger loads exactly the state it had, and goes on", arguments: engines)
    func roundTrip(_ engine: StoreEngine) throws { try StoreContract(engine: engine).roundTrip() }

    @Test("referral links, bonus state and bonus lots reload from the tables and the saved state", arguments: engines)
    func referralsRoundTrip(_ engine: StoreEngine) throws { try StoreContract(engine: engine).referralsRoundTrip() }

    @Test(
        "reopening before every batch gives the same outcomes and state as keeping the ledger open",
        arguments: engines
    )
    func reopenEveryBatch(_ engine: StoreEngine) throws { try StoreContract(engine: engine).reopenEveryBatch() }

    @Test("a batch whose commit fails leaves the database byte for byte as it was", arguments: engines)
    func failedCommit(_ engine: StoreEngine) throws { try StoreContract(engine: engine).failedCommit() }

    @Test("a batch keeps its summary and its rejections, found by partner and sequence", arguments: engines)
    func batchSummaryAndRejections(_ engine: StoreEngine) throws {
        try StoreContract(engine: engine).batchSummaryAndRejections()
    }

    @Test("a posting's points changed behind the store's back: audit names it", arguments: engines)
    func tamperedPoints(_ engine: StoreEngine) throws { try StoreContract(engine: engine).tamperedPoints() }

    @Test("a posting's legs changed: audit names it, and the balances no longer add up", arguments: engines)
    func tamperedLegs(_ engine: StoreEngine) throws { try StoreContract(engine: engine).tamperedLegs() }

    @Test("a deleted posting is reported missing", arguments: engines)
    func deletedPosting(_ engine: StoreEngine) throws { try StoreContract(engine: engine).deletedPosting() }

    @Test("a balance or a lot changed behind the journal's back is reported", arguments: engines)
    func tamperedBalances(_ engine: StoreEngine) throws { try StoreContract(engine: engine).tamperedBalances() }
}

// Runs only where COALITION_TEST_POSTGRESQL names a server.
@Suite(
    "PostgreSQL: generated member activity",
    .enabled(if: StoreEngine.isPostgreSQLConfigured, StoreEngine.howToRunPostgreSQL)
)
struct PostgreSQLContractTests {
    @Test("generated member activity, reopened as it goes, loads the state the ledger held every time")
    func generatedMemberActivity() throws { try GeneratedMemberTests.reopenAsItGoes(on: .postgresql) }
}
