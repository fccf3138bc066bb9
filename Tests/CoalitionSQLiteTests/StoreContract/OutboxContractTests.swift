import Testing

// The outbox part of the store contract (`OutboxContract.swift`), once for each engine.

@Suite("Outbox contract on SQLite")
struct SQLiteOutboxContractTests {
    let contract = StoreContract(engine: .sqlite)

    @Test("a batch's events commit with it, or not at all; an id is kept once; the outbox is durable")
    func commitsWithItsBatch() throws { try contract.outboxCommitsWithItsBatch() }

    @Test("due events, attempts, failures, redelivery and counts are booked as reported")
    func booksDeliveries() throws { try contract.outboxBooksDeliveries() }

    @Test("seeded attempts and redeliveries leave each event as a model says", arguments: [1, 2, 3] as [UInt64])
    func followsAModel(seed: UInt64) throws { try contract.outboxFollowsAModel(seed: seed) }
}

@Suite(
    "Outbox contract on PostgreSQL",
    .enabled(if: StoreEngine.isPostgreSQLConfigured, StoreEngine.howToRunPostgreSQL)
)
struct PostgreSQLOutboxContractTests {
    let contract = StoreContract(engine: .postgresql)

    @Test("a batch's events commit with it, or not at all; an id is kept once; the outbox is durable")
    func commitsWithItsBatch() throws { try contract.outboxCommitsWithItsBatch() }

    @Test("due events, attempts, failures, redelivery and counts are booked as reported")
    func booksDeliveries() throws { try contract.outboxBooksDeliveries() }

    @Test("seeded attempts and redeliveries leave each event as a model says", arguments: [1, 2, 3] as [UInt64])
    func followsAModel(seed: UInt64) throws { try contract.outboxFollowsAModel(seed: seed) }
}
