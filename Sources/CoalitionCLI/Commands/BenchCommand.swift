import CoalitionFiles
import CoalitionGeneration
import CoalitionKit
import CoalitionPostgreSQL
import CoalitionSQLite
import Foundation

struct BenchCommand: Command {
    static let path = ["bench"]
    static let summary = "measure ingestion, verification, parsing, cycle close, opening and memory on generated data"
    static let synopsis = ""
    static let options: [OptionSpec] = [
        .value("records", "N", "records in the measured settlement file (default 1,000,000)"),
        .value("members", "M", "members, each with a lot at every partner (default 100,000)"),
        .value("partners", "P", "partners (default 4)"),
        .value("seed", "S", "the random seed (default 1)"),
        .value("keep", "DIR", "build the data in DIR and keep it (default: a temporary directory, removed)"),
        .value(
            "store",
            "URL",
            "measure on PostgreSQL: make the ledger in this empty database (postgresql://…), dropped after unless --keep"
        ),
        .flag(
            "audit",
            "after measuring, audit the ledger (hash chain, books, invariants, state file); exit 1 if not clean"
        ),
    ]
    static let discussion = """
        Run it on a release build: `swift run -c release coalition bench`. It generates a
        network, enrols M members with a lot at every partner, writes one signed settlement
        file of N records of partner P01 (earns, cross-brand redemptions, reversals), and
        measures in one run: the machine's limits (OpenSSL's HMAC-SHA256 rate over the same
        bytes; SQLite's bare insert rate of N rows into a table with one unique text index in
        one transaction), signature verification, parse and validate only, end-to-end submit
        with the durable commit, cycle close over the obligations, saving the state at close,
        opening the ledger from it and, as after a crash, from the tables, the peak memory
        while submitting (on Linux measured alone, from the loaded ledger's resident size),
        and the resident size after submitting and of the reopened ledger. With --audit, the
        ledger it measured is then audited, outside every timing. With --store the ledger is made
        in that PostgreSQL database (which must be empty), the limit is PostgreSQL's own bare
        COPY of N rows into a table with one unique index in the same database, and the state
        is saved in and opened from the database's snapshot table; the ledger's tables are
        dropped at the end unless --keep is given. docs/performance.md has the figures of this machine.
        """

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let records = try context.arguments.integer("records", default: 1_000_000, in: 1...100_000_000)
        let members = try context.arguments.integer("members", default: 100_000, in: 1...10_000_000)
        let partnerCount = try context.arguments.integer("partners", default: 4, in: 2...99)
        let seed = UInt64(try context.arguments.integer("seed", default: 1, in: 0...Int.max))
        let keep = context.arguments.value("keep")
        let directory = keep ?? NSTemporaryDirectory() + "coalition-bench-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory + "/outbox", withIntermediateDirectories: true)
        defer { if keep == nil { try? FileManager.default.removeItem(atPath: directory) } }
        func say(_ text: String) { if !context.json { Output.error(text) } }
        let postgreSQL = try context.arguments.value("store").map(DataDirectory.checkedStore)
        func makeStore(create: Bool = false) throws -> any LedgerStore {
            if let postgreSQL { return try PostgreSQLStore(conninfo: postgreSQL, create: create) }
            return try SQLiteStore(path: directory + "/ledger.sqlite", create: create)
        }
        defer {
            if let postgreSQL, keep == nil { try? PostgreSQLStore(conninfo: postgreSQL).dropLedgerTables() }
        }

        let (network, rings) = try BenchData.network(partners: partnerCount, seed: seed)
        let start = try Timestamp(parsing: "2026-01-01T00:00:00Z")
        let partner = network.sortedPartners[0].id
        let ring = rings[partner]!

        // The data: members with a lot at every partner, then the measured file.
        say("bench: setting up \(members) members with a lot at each of \(partnerCount) partners …")
        var clock = MonotonicClock.now
        var ledger: Ledger! = try Ledger(network: network, store: try makeStore(create: true))
        try BenchData.setup(network: network, members: members, start: start, batchSize: 16_384) { batch in
            try ledger.apply(batch, info: BatchInfo(source: "bench-setup", receivedAt: start))
        }
        let setupSeconds = MonotonicClock.seconds(since: clock)
        let file = directory + "/P01-000001.csf"
        let header = FileHeader(
            kind: .settlement,
            partner: partner,
            sequence: 1,
            createdAt: start.adding(days: 1),
            keyID: ring.keys[0].info.id
        )
        say("bench: writing a signed file of \(records) records …")
        try SettlementFile.write(
            BenchData.Records(
                partner: partner,
                members: members,
                count: records,
                start: start.adding(seconds: 3600),
                seed: seed
            ),
            header: header,
            key: ring.keys[0].secret,
            to: file
        )
        let bytes = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value ?? 0
        let megabytes = Double(bytes) / 1_048_576

        // 1. The limits of this machine.
        say(
            "bench: measuring OpenSSL's HMAC and \(postgreSQL == nil ? "SQLite's bare inserts" : "PostgreSQL's bare COPY") …"
        )
        let hmacSeconds = try hmacSeconds(file: file, bytes: bytes, key: ring.keys[0].secret)
        let insertSeconds =
            try postgreSQL.map { try PostgreSQLStore.bareCopySeconds(rows: records, conninfo: $0) }
            ?? SQLiteStore.bareInsertSeconds(rows: records, directory: directory)
        // 2. Verification, 3. parsing.
        let now = start.adding(days: 1)
        var ingestor: Ingestor! = Ingestor(ledger: ledger, now: now) { rings[$0.id]! }
        clock = MonotonicClock.now
        _ = try ingestor.verifyOnly(path: file)
        let verifySeconds = MonotonicClock.seconds(since: clock)
        clock = MonotonicClock.now
        let parsed = try Ingestor.parseOnly(path: file, partner: partner)
        let parseSeconds = MonotonicClock.seconds(since: clock)
        // 4. End to end.
        // The peak while ingesting, from the resident size of the loaded ledger.
        let peakIsOwn = ProcessMemory.resetPeak()
        let residentBefore = ProcessMemory.currentBytes
        say("bench: submitting the file end to end …")
        clock = MonotonicClock.now
        let result = try ingestor.ingest(path: file, outbox: directory + "/outbox")
        let submitSeconds = MonotonicClock.seconds(since: clock)
        guard case .accepted = result.status, let summary = result.summary else {
            throw CoalitionError(.storeFailure, "the bench file was not accepted: \(result.status)")
        }
        let submitPeak = ProcessMemory.peakBytes
        // What stays once the file is in: the state as the engine holds it (lot arrays with
        // room to grow), SQLite's page cache, and no more of the file.
        ProcessMemory.trimHeap()
        let residentAfter = ProcessMemory.currentBytes
        // 5. Cycle close.
        clock = MonotonicClock.now
        // Through the last record's time: the cycle takes every obligation of the file.
        let lastRecord = BenchData.Records.time(of: records, start: start.adding(seconds: 3600))
        let through = max(now.adding(days: 1), lastRecord)
        let closed = try CycleCloser.close(ledger, through: through, now: through)
        let cycleSeconds = MonotonicClock.seconds(since: clock)
        guard case .closed(let cycle) = closed else {
            throw CoalitionError(.storeFailure, "the bench cycle did not close")
        }
        let obligations = cycle.obligationCount
        // 6. Opening the ledger.
        let lots = ledger.state.members.values.reduce(0) { $0 + $1.lots.count + $1.debts.count }
        ingestor = nil
        // The end of a process: the state is saved beside the ledger for the next open.
        clock = MonotonicClock.now
        try ledger.saveState()
        let saveSeconds = MonotonicClock.seconds(since: clock)
        ledger = nil  // close it: the reopened ledger must load everything from disk
        // After a crash there is no current state file: the state is rebuilt from the tables.
        clock = MonotonicClock.now
        switch try makeStore() {
        case let store as SQLiteStore: _ = try store.loadFromTables()
        case let store as PostgreSQLStore: _ = try store.loadFromTables()
        case let store: _ = try store.load()
        }
        let tablesSeconds = MonotonicClock.seconds(since: clock)
        ProcessMemory.trimHeap()
        clock = MonotonicClock.now
        let store = try makeStore()
        ledger = try Ledger(network: network, store: store)
        let openSeconds = MonotonicClock.seconds(since: clock)
        guard (store as? SQLiteStore)?.loadedFromStateFile ?? (store as? PostgreSQLStore)?.loadedFromSnapshot ?? true
        else {
            throw CoalitionError(.storeFailure, "the bench ledger did not open from its saved state file")
        }

        // The kernel counts resident pages per thread and adds them up lazily, so a later
        // reading of the peak can fall a few pages short of an earlier one.
        let peak = max(ProcessMemory.peakBytes, submitPeak)
        // What the ledger's own state takes in memory, freshly loaded.
        ProcessMemory.resetPeak()
        let residentOpened = ProcessMemory.currentBytes

        let hmacRate = megabytes / hmacSeconds
        let insertRate = Double(records) / insertSeconds
        let verifyRate = megabytes / verifySeconds
        let submitRate = Double(summary.records) / submitSeconds
        let figures: [(String, String, String)] = [
            (
                "data",
                "\(records) records",
                "\(String(format: "%.1f", megabytes)) MiB, \(members) members, \(partnerCount) partners; "
                    + "setup \(String(format: "%.1f", setupSeconds)) s"
            ),
            ("limit: OpenSSL HMAC-SHA256", String(format: "%.0f MB/s", hmacRate), ""),
            (
                postgreSQL == nil ? "limit: SQLite bare insert" : "limit: PostgreSQL bare COPY",
                String(format: "%.0f rows/s", insertRate), "one unique text index, one transaction"
            ),
            (
                "verify signature", String(format: "%.0f MB/s", verifyRate),
                String(format: "%.2f of HMAC", verifyRate / hmacRate)
            ),
            (
                "parse and validate", String(format: "%.0f records/s", Double(parsed.records) / parseSeconds),
                String(format: "%.0f MB/s", megabytes / parseSeconds)
            ),
            (
                "submit end to end", String(format: "%.0f records/s", submitRate),
                String(
                    format: "%.2f of bare \(postgreSQL == nil ? "insert" : "COPY"); %d accepted, %d rejected",
                    submitRate / insertRate,
                    summary.accepted,
                    summary.rejected
                )
            ),
            ("cycle close", String(format: "%.3f s", cycleSeconds), "\(obligations) obligations"),
            (
                "open ledger", String(format: "%.3f s", openSeconds),
                "\(ledger.state.members.count) members, \(lots) lots, "
                    + (postgreSQL == nil ? "from the state file saved at close" : "from the snapshot saved at close")
            ),
            ("  after a crash", String(format: "%.3f s", tablesSeconds), "the same state rebuilt from the tables"),
            ("  saving the state at close", String(format: "%.3f s", saveSeconds), "written and flushed to disk"),
            (
                "peak memory while submitting", "\(submitPeak / 1_048_576) MiB",
                "\(residentBefore / 1_048_576) MiB resident before it (the loaded ledger)"
                    + (peakIsOwn ? "" : "; the process's peak so far: this system cannot reset it")
            ),
            (
                "resident after submitting", "\(residentAfter / 1_048_576) MiB",
                "the state as the engine holds it, with the page cache"
            ),
            (
                "resident after reopening", "\(residentOpened / 1_048_576) MiB",
                "the loaded ledger alone, with the page cache"
            ),
            ("peak memory from the submit on", "\(peak / 1_048_576) MiB", "the cycle and both reopenings included"),
        ]
        // The audit comes last, after every figure is taken: it reads the whole journal.
        var audit: (isClean: Bool, postings: Int64, problems: [String])?
        if context.arguments.has("audit") {
            let report = try Audit.run(ledger)
            let problems =
                report.problems + (try (store as? SQLiteStore)?.stateFileProblems(ledger.state) ?? [])
                + (try (store as? PostgreSQLStore)?.snapshotProblems(ledger.state) ?? [])
            audit = (problems.isEmpty, report.postings, problems)
        }
        var rows = figures
        if let audit {
            rows.append(
                (
                    "audit", audit.isClean ? "OK: \(audit.postings) postings" : "FAILED",
                    audit.isClean
                        ? "hash chain, books, invariants, state file" : audit.problems.prefix(3).joined(separator: "; ")
                )
            )
        }
        if context.json {
            let figures = BenchFigures(
                records: records,
                members: members,
                partners: partnerCount,
                fileBytes: bytes,
                hmacMBps: hmacRate,
                bareInsertRowsPerSecond: insertRate,
                verifyMBps: verifyRate,
                verifyRatio: verifyRate / hmacRate,
                parseRecordsPerSecond: Double(parsed.records) / parseSeconds,
                parseMBps: megabytes / parseSeconds,
                submitRecordsPerSecond: submitRate,
                submitRatio: submitRate / insertRate,
                accepted: summary.accepted,
                rejected: summary.rejected,
                cycleCloseSeconds: cycleSeconds,
                obligations: obligations,
                openSeconds: openSeconds,
                openMembers: ledger.state.members.count,
                openLots: lots,
                openFromTablesSeconds: tablesSeconds,
                saveStateSeconds: saveSeconds,
                peakResidentBytes: peak,
                residentBytesBeforeSubmit: residentBefore,
                peakResidentBytesWhileSubmitting: submitPeak,
                setupSeconds: setupSeconds,
                residentBytesAfterReopening: residentOpened,
                residentBytesAfterSubmitting: residentAfter,
                auditClean: audit?.isClean,
                auditPostings: audit?.postings
            )
            Output.json(figures, slashes: .escaped)
        } else {
            var table = TextTable(["measure", "result", "notes"])
            for figure in rows { table.add([figure.0, figure.1, figure.2]) }
            Output.line(table.render(indent: "", width: 100))
        }
        return audit.map { $0.isClean ? .success : .rejected } ?? .success
    }

    /// HMAC-SHA256 over as many bytes as the file has, fed in the same 1 MiB pieces the
    /// verifier reads, from memory: the rate OpenSSL reaches on this machine.
    static func hmacSeconds(file: String, bytes: Int64, key: [UInt8]) throws -> Double {
        guard let handle = FileHandle(forReadingAtPath: file) else {
            throw CoalitionError(.io, "cannot read the bench file", at: Place(file: file))
        }
        let piece = [UInt8](handle.readData(ofLength: 1 << 20))
        try? handle.close()
        let mac = try HMACSHA256(key: key)
        let started = MonotonicClock.now
        var left = bytes
        try piece.withUnsafeBytes { buffer in
            while left > 0 {
                let n = Int(min(Int64(buffer.count), left))
                mac.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                left -= Int64(n)
                if n == 0 { throw CoalitionError(.io, "empty bench file") }
            }
        }
        _ = mac.finish()
        return MonotonicClock.seconds(since: started)
    }
}

/// What `bench --json` prints: the figures of one run (rates per second, sizes in bytes);
/// the audit's two keys only where the run audited.
struct BenchFigures: Encodable {
    let records: Int
    let members: Int
    let partners: Int
    let fileBytes: Int64
    let hmacMBps: Double
    let bareInsertRowsPerSecond: Double
    let verifyMBps: Double
    let verifyRatio: Double
    let parseRecordsPerSecond: Double
    let parseMBps: Double
    let submitRecordsPerSecond: Double
    let submitRatio: Double
    let accepted: Int
    let rejected: Int
    let cycleCloseSeconds: Double
    let obligations: Int
    let openSeconds: Double
    let openMembers: Int
    let openLots: Int
    let openFromTablesSeconds: Double
    let saveStateSeconds: Double
    let peakResidentBytes: Int64
    let residentBytesBeforeSubmit: Int64
    let peakResidentBytesWhileSubmitting: Int64
    let setupSeconds: Double
    let residentBytesAfterReopening: Int64
    let residentBytesAfterSubmitting: Int64
    let auditClean: Bool?
    let auditPostings: Int64?
}
