import CoalitionKit
import CoalitionSQLite
import CoalitionTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The defects an outside attack found (issue 20), each pinned end to end: crashes between a
/// commit and its files, entries of the inbox that are not files, two writers, damaged
/// stores, derived tables edited behind the audit's back, bytes no one authenticated.
@Suite("Reliability: crashes, faults and hostile inputs, end to end")
struct ReliabilityCommandTests {
    /// A demo data directory (one cycle closed through 2026-11-10).
    func demo() throws -> SettlementCommandRunner {
        let cli = try SettlementCommandRunner()
        let demo = try cli.coalition(
            "demo",
            "--partners",
            SettlementCommandRunner.partners,
            "--seeds",
            SettlementCommandRunner.seeds
        )
        try #require(demo.status == 0, "\(demo)")
        return cli
    }

    func store(_ cli: SettlementCommandRunner) throws -> SQLiteStore {
        try SQLiteStore(path: cli.data + "/ledger.sqlite")
    }

    @Test("submit of a missing file, a directory or a FIFO exits 3 at once, naming the fault")
    func submitBadPaths() throws {
        let cli = try SettlementCommandRunner()
        try cli.initialize()
        let missing = try cli.coalition("submit", cli.directory + "/no-such.csf")
        #expect(missing.status == 3, "\(missing)")
        #expect(missing.stderr.contains("FILE_NOT_FOUND"), "\(missing)")
        let directory = try cli.coalition("submit", cli.directory)
        #expect(directory.status == 3, "\(directory)")
        #expect(directory.stderr.contains("NOT_A_REGULAR_FILE"), "\(directory)")
        let fifo = cli.directory + "/pipe.csf"
        #expect(mkfifo(fifo, 0o600) == 0)
        let piped = try cli.coalition("submit", fifo)
        #expect(piped.status == 3, "\(piped)")
        #expect(piped.stderr.contains("NOT_A_REGULAR_FILE"), "\(piped)")
        #expect(try cli.names("archive").isEmpty && cli.names("rejected").isEmpty)
    }

    @Test("ingest sets aside a directory, a FIFO, a dangling link and a link loop, and takes the file beside them")
    func ingestNonRegularEntries() throws {
        let cli = try SettlementCommandRunner()
        try cli.initialize()
        let inbox = cli.data + "/inbox/"
        try SettlementCommandFiles.skyways(
            sequence: 1,
            key: try SettlementCommandFiles.demoKey("SKYWAYS-2026A"),
            to: inbox + "good.csf"
        )
        try FileManager.default.createDirectory(atPath: inbox + "a-directory", withIntermediateDirectories: false)
        #expect(mkfifo(inbox + "b-fifo.csf", 0o600) == 0)
        #expect(symlink(cli.directory + "/nowhere", inbox + "c-dangling.csf") == 0)
        #expect(symlink(inbox + "d-loop.csf", inbox + "d-loop.csf") == 0)

        let ingest = try cli.coalition("ingest")
        #expect(ingest.status == 1, "\(ingest)")
        #expect(ingest.stdout.contains("good.csf: accepted"), "\(ingest)")
        for name in ["a-directory", "b-fifo.csf", "c-dangling.csf", "d-loop.csf"] {
            #expect(ingest.stdout.contains("\(name): REJECTED NOT_A_REGULAR_FILE"), "\(ingest)")
            let reason = try String(contentsOfFile: cli.data + "/rejected/\(name).reason", encoding: .utf8)
            #expect(reason.contains("code: NOT_A_REGULAR_FILE"), "\(reason)")
        }
        #expect(try cli.names("inbox") == [])
        #expect(try cli.names("archive") == ["good.csf"])
    }

    @Test("one writer at a time: a second is refused with LEDGER_BUSY before it reads; reads go on")
    func writerLock() throws {
        let cli = try SettlementCommandRunner()
        let file = try cli.initializedWithSkywaysFile()
        var lock: WriterLock? = try WriterLock.acquire(dataDirectory: cli.data, waitSeconds: 0)
        #expect(throws: CoalitionError.self) { try WriterLock.acquire(dataDirectory: cli.data, waitSeconds: 0) }
        let busy = try cli.coalition("submit", file)
        #expect(busy.status == 3, "\(busy)")
        #expect(busy.stderr.contains("LEDGER_BUSY"), "\(busy)")
        #expect(busy.stderr.contains("process \(getpid())"), "\(busy)")
        #expect(try cli.names("archive").isEmpty && cli.names("outbox").isEmpty)
        let audit = try cli.coalition("audit")
        #expect(audit.status == 0, "\(audit)")
        lock?.release()
        lock = nil
        let submit = try cli.coalition("submit", file)
        #expect(submit.status == 0, "\(submit)")
    }

    @Test("temporary files of dead writers are removed when the next writer opens; live ones stay")
    func temporaryFilesCleaned() throws {
        let cli = try SettlementCommandRunner()
        try cli.initialize()
        let dead = "2147483000"  // above any pid_max: no such process
        let leftovers = [
            "outbox/SKYWAYS-000007.ack.tmp", "outbox/SKYWAYS-000007.ack.tmp.rejected",
            "outbox/.SKYWAYS-000008.ack.\(dead).tmp", "archive/.big.csf.\(dead).tmp",
            "ledger.sqlite-state.\(dead).tmp", "reports/.cycle-000001.html.\(dead).tmp",
        ]
        let live = "outbox/.SKYWAYS-000009.ack.1.tmp"  // process 1 is always running
        for name in leftovers + [live] {
            #expect(FileManager.default.createFile(atPath: cli.data + "/" + name, contents: Data("x".utf8)))
        }
        let expire = try cli.coalition("expire", "--as-of", "2026-01-01")
        #expect(expire.status == 0, "\(expire)")
        for name in leftovers { #expect(!FileManager.default.fileExists(atPath: cli.data + "/" + name), "\(name)") }
        #expect(FileManager.default.fileExists(atPath: cli.data + "/" + live))
    }

    @Test("a cycle killed between its commit and its files gets them on the rerun, with the same bytes")
    func cycleCrashAfterCommit() throws {
        let cli = try demo()
        let statementName = "SKYWAYS-cycle-000002.stmt"
        let killed = try cli.coalition(failpoint: "cycle.after-commit", "cycle", "close", "--through", "2026-11-25")
        #expect(killed.status == SIGKILL, "\(killed)")
        #expect(!(try cli.names("outbox").contains(statementName)))
        #expect(try store(cli).cycles().count == 2)

        let rerun = try cli.coalition("cycle", "close", "--through", "2026-11-25")
        #expect(rerun.status == 0, "\(rerun)")
        #expect(rerun.stdout.contains("Published the missing statements and report of cycle 2"), "\(rerun)")
        #expect(rerun.stdout.contains("Nothing new: cycle 2 already closed"), "\(rerun)")
        let statement = cli.data + "/outbox/" + statementName
        let report = cli.data + "/reports/" + CycleReport.fileName(2)
        let first = try (cli.bytes(statement), cli.bytes(report))
        let verify = try cli.coalition("verify", statement)
        #expect(verify.status == 0, "\(verify)")

        // Killed again after the statements, before the report: the next run writes the same bytes.
        try FileManager.default.removeItem(atPath: statement)
        try FileManager.default.removeItem(atPath: report)
        let again = try cli.coalition("cycle", "close", "--through", "2026-11-25")
        #expect(again.status == 0, "\(again)")
        #expect(try (cli.bytes(statement), cli.bytes(report)) == first)
        #expect(try cli.coalition("audit").status == 0)
    }

    @Test("cycle close refuses a cut-off in the future with CUTOFF_IN_FUTURE and closes nothing")
    func cutoffInFuture() throws {
        let cli = try demo()
        for through in ["9999-12-31", SettlementCommandFiles.now.adding(days: 2).description] {
            let close = try cli.coalition("cycle", "close", "--through", through)
            #expect(close.status == 3, "\(close)")
            #expect(close.stderr.contains("CUTOFF_IN_FUTURE"), "\(close)")
        }
        #expect(try store(cli).cycles().count == 1)
    }

    @Test("init and keys rotate under umask 000: secrets 0600, partner files 0644, no temporary file left")
    func keysRotateUnderOpenUmask() throws {
        let cli = try SettlementCommandRunner()
        let initialize = try cli.run(
            [
                "-c", "umask 000; exec \"$0\" \"$@\"", "coalition", "init", "--partners",
                SettlementCommandRunner.partners,
                "--data", cli.data,
            ],
            executable: "/bin/sh"
        )
        #expect(initialize.status == 0, "\(initialize)")
        let rotate = try cli.run(
            [
                "-c", "umask 000; exec \"$0\" \"$@\"", "coalition", "keys", "rotate", "--partner", "HARBOR", "--data",
                cli.data,
            ],
            executable: "/bin/sh"
        )
        #expect(rotate.status == 0, "\(rotate)")
        func mode(_ path: String) throws -> Int {
            try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        }
        let keys = try cli.names("keys").filter { $0.hasPrefix("HARBOR-") && !$0.hasSuffix("A.key") }
        try #require(keys.count == 1, "\(keys)")
        #expect(try mode(cli.data + "/keys/" + keys[0]) == 0o600)
        for name in try cli.names("network") {
            #expect(!name.contains(".tmp"), "\(name)")
            #expect(try mode(cli.data + "/network/" + name) & 0o022 == 0, "\(name)")
        }
    }

    @Test("audit names edits to tables outside the hash chain: cycle nets, reversed units, batch rows, tiers")
    func auditDerivedTables() throws {
        let cli = try demo()
        try #require(try cli.coalition("audit").status == 0)
        let edits = [
            "UPDATE cycle_net SET amount = amount + 1 WHERE rowid = (SELECT min(rowid) FROM cycle_net)",
            "UPDATE cycle_gross SET amount = amount + 1 WHERE rowid = (SELECT min(rowid) FROM cycle_gross)",
            "UPDATE reversed SET units = units + 1 WHERE seq = (SELECT min(seq) FROM reversed)",
            "DELETE FROM batches WHERE id = (SELECT max(id) FROM batches WHERE first_seq IS NOT NULL)",
            "UPDATE members SET tier = tier + 1 WHERE number = (SELECT min(number) FROM members)",
        ]
        for edit in edits {
            let copy = cli.directory + "/edited"
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: cli.data, toPath: copy)
            // Without the state file: the audit must see the edit in the tables themselves.
            try? FileManager.default.removeItem(atPath: copy + "/ledger.sqlite-state")
            let store = try SQLiteStore(path: copy + "/ledger.sqlite")
            let unedited = try store.contentDump()
            try store.executeForTesting(edit)
            #expect(try store.contentDump() != unedited, "\(edit)")
            let audit = try cli.run(["audit", "--data", copy])
            #expect(audit.status == 1, "\(edit)\n\(audit)")
            #expect(audit.stdout.contains("AUDIT_FAILED"), "\(edit)\n\(audit)")
        }
    }

    @Test("a damaged store is refused before the first write with LEDGER_DAMAGED; nothing is applied")
    func damagedStoreRefused() throws {
        let cli = try demo()
        let path = cli.data + "/ledger.sqlite"
        // Every page in the database file itself, none only in the WAL, and none free (a
        // free page is in no table: zeroing it damages nothing).
        try store(cli).executeForTesting("VACUUM")
        try store(cli).executeForTesting("PRAGMA wal_checkpoint(TRUNCATE)")
        let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        // A page in the middle zeroed, as a failed disk leaves it.
        try handle.seek(toOffset: UInt64(size / 2 / 16_384 * 16_384))
        handle.write(Data(repeating: 0, count: 16_384))
        try handle.close()
        let file = cli.directory + "/SKYWAYS-000099.csf"
        try SettlementCommandFiles.skyways(
            sequence: 3,
            key: try SettlementCommandFiles.demoKey("SKYWAYS-2026A"),
            to: file,
            firstRecord: 900
        )
        let submit = try cli.coalition("submit", file)
        #expect(submit.status == 3, "\(submit)")
        #expect(submit.stderr.contains("LEDGER_DAMAGED"), "\(submit)")
        #expect(!(try cli.names("archive").contains("SKYWAYS-000099.csf")))
    }

    @Test("control bytes of an unauthenticated header reach neither the terminal nor the reason file")
    func controlBytesEscaped() throws {
        let cli = try SettlementCommandRunner()
        try cli.initialize()
        let hostile = try cli.write(
            Array(
                "H|COALITION-SETTLEMENT|1|P2C|SKY\u{1B}[2J\u{07}|1|2026-11-19T09:00:00Z|K\u{1B}]0;owned\u{07}\n".utf8
            ),
            "hostile.csf"
        )
        let submit = try cli.coalition("submit", hostile)
        #expect(submit.status == 1, "\(submit)")
        #expect(!submit.stdout.utf8.contains(0x1B) && !submit.stderr.utf8.contains(0x1B), "\(submit)")
        #expect(!submit.stdout.utf8.contains(0x07))
        let reason = try cli.bytes(cli.data + "/rejected/hostile.csf.reason")
        #expect(!reason.contains(0x1B) && !reason.contains(0x07), "\(String(decoding: reason, as: UTF8.self))")
    }

    @Test("injected faults: an fsync that fails leaves the ledger as before; a crash after the commit, as after")
    func injectedFaults() throws {
        let cli = try SettlementCommandRunner()
        let file = try cli.initializedWithSkywaysFile()
        let empty = try store(cli).contentDump()
        let failed = try cli.coalition(failpoint: "file.fsync:fail", "submit", file)
        #expect(failed.status == 4, "\(failed)")
        #expect(failed.stderr.contains("IO_ERROR"), "\(failed)")
        #expect(try store(cli).contentDump() == empty)
        let outbox = try cli.names("outbox")
        #expect(outbox.isEmpty, "\(outbox)")
        #expect(try cli.names("archive").isEmpty)

        let killed = try cli.coalition(failpoint: "ingest.after-commit", "submit", file)
        #expect(killed.status == SIGKILL, "\(killed)")
        let after = try store(cli).contentDump()
        #expect(after != empty)
        // Committed, not yet published: only the dead process's hidden temporary files.
        #expect(try cli.names("outbox").allSatisfy { $0.hasPrefix(".") && $0.contains(".tmp") })
        let rerun = try cli.coalition("submit", file)
        #expect(rerun.status == 0, "\(rerun)")
        #expect(rerun.stdout.contains("duplicate of batch 1"), "\(rerun)")
        #expect(try store(cli).contentDump() == after)
        #expect(try cli.names("outbox") == ["SKYWAYS-000001.ack"])
        #expect(try cli.names("archive") == ["SKYWAYS-000001.csf"])
        #expect(try cli.coalition("audit").status == 0)
    }
}
