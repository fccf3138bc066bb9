import Testing

// The store contract (`StoreContract`) run once for each engine: the same tests, two stores.

@Suite("Store contract on SQLite")
struct SQLiteContractTests {
    let contract = StoreContract(engine: .sqlite)

    @Test("a reopened ledger loads exactly the state it had, and goes on")
    func roundTrip() throws { try contract.roundTrip() }

    @Test("referral links, bonus state and bonus lots reload from the tables and the saved state")
    func referralsRoundTrip() throws { try contract.referralsRoundTrip() }

    @Test("reopening before every batch gives the same outcomes and state as keeping the ledger open")
    func reopenEveryBatch() throws { try contract.reopenEveryBatch() }

    @Test("a batch whose commit fails leaves the database byte for byte as it was")
    func failedCommit() throws { try contract.failedCommit() }

    @Test("a batch keeps its summary and its rejections, found by partner and sequence")
    func batchSummaryAndRejections() throws { try contract.batchSummaryAndRejections() }

    @Test("a posting's points changed behind the store's back: audit names it")
    func tamperedPoints() throws { try contract.tamperedPoints() }

    @Test("a posting's legs changed: audit names it, and the balances no longer add up")
    func tamperedLegs() throws { try contract.tamperedLegs() }

    @Test("a deleted posting is reported missing")
    func deletedPosting() throws { try contract.deletedPosting() }

    @Test("a balance or a lot changed behind the journal's back is reported")
    func tamperedBalances() throws { try contract.tamperedBalances() }
}

// Runs only where COALITION_TEST_POSTGRESQL names a server: `bash .ci/postgres` starts one and
// runs this suite; a plain `swift test` reports it skipped, with how to run it.
@Suite(
    "Store contract on PostgreSQL",
    .enabled(if: StoreEngine.isPostgreSQLConfigured, StoreEngine.howToRunPostgreSQL)
)
struct PostgreSQLContractTests {
    let contract = StoreContract(engine: .postgresql)

    @Test("a reopened ledger loads exactly the state it had, and goes on")
    func roundTrip() throws { try contract.roundTrip() }

    @Test("referral links, bonus state and bonus lots reload from the tables and the saved state")
    func referralsRoundTrip() throws { try contract.referralsRoundTrip() }

    @Test("reopening before every batch gives the same outcomes and state as keeping the ledger open")
    func reopenEveryBatch() throws { try contract.reopenEveryBatch() }

    @Test("a batch whose commit fails leaves the database byte for byte as it was")
    func failedCommit() throws { try contract.failedCommit() }

    @Test("a batch keeps its summary and its rejections, found by partner and sequence")
    func batchSummaryAndRejections() throws { try contract.batchSummaryAndRejections() }

    @Test("a posting's points changed behind the store's back: audit names it")
    func tamperedPoints() throws { try contract.tamperedPoints() }

    @Test("a posting's legs changed: audit names it, and the balances no longer add up")
    func tamperedLegs() throws { try contract.tamperedLegs() }

    @Test("a deleted posting is reported missing")
    func deletedPosting() throws { try contract.deletedPosting() }

    @Test("a balance or a lot changed behind the journal's back is reported")
    func tamperedBalances() throws { try contract.tamperedBalances() }
}

extension PostgreSQLContractTests {
    @Test("generated member activity, reopened as it goes, loads the state the ledger held every time")
    func generatedMemberActivity() throws { try GeneratedMemberTests.reopenAsItGoes(on: .postgresql) }
}
