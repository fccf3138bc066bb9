import Foundation
import Testing

@Suite("coalition bench: a small run, end to end (its figures are judged by people, not tests)")
struct BenchCommandTests {
    @Test("--json reports every stage of one run over the data it says it generated")
    func smallRun() throws {
        let work = try WorkDirectory()
        defer { work.remove() }
        let kept = work.file("bench")
        let result = try work.coalition(
            "bench",
            "--records",
            "3000",
            "--members",
            "300",
            "--partners",
            "3",
            "--json",
            "--keep",
            kept,
            "--audit"
        )
        #expect(result.status == 0, "\(result)")
        let object = try #require(
            (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any],
            "\(result)"
        )
        func number(_ key: String) -> Double { (object[key] as? NSNumber)?.doubleValue ?? -1 }
        #expect(number("records") == 3000)
        #expect(number("members") == 300)
        #expect(number("partners") == 3)
        // Every record of the file was decided: the mix is valid, so nearly all are applied.
        #expect(number("accepted") + number("rejected") == 3000)
        #expect(number("accepted") > 2900)
        // Cross-brand redemptions made obligations, and the reopened ledger has every member.
        #expect(number("obligations") > 300)
        #expect(number("openMembers") == 300)
        #expect(number("openLots") >= 900)
        for key in [
            "hmacMBps", "bareInsertRowsPerSecond", "verifyMBps", "parseRecordsPerSecond", "submitRecordsPerSecond",
            "cycleCloseSeconds", "openSeconds", "peakResidentBytesWhileSubmitting", "residentBytesBeforeSubmit",
            "openFromTablesSeconds", "saveStateSeconds", "residentBytesAfterSubmitting", "residentBytesAfterReopening",
        ] {
            #expect(number(key) > 0, "\(key)")
        }
        // The ledger it measured audits clean: chain, books, invariants, and the state file.
        #expect(object["auditClean"] as? Bool == true)
        #expect(number("auditPostings") > 3000)
        #expect(number("peakResidentBytesWhileSubmitting") <= number("peakResidentBytes"))
        #expect(number("residentBytesAfterSubmitting") <= number("peakResidentBytesWhileSubmitting"))
        // The kept directory holds the state saved at close, which the reopened ledger read.
        #expect(FileManager.default.fileExists(atPath: kept + "/ledger.sqlite-state"))
        // The data was kept where asked: the ledger and the acknowledgement of the file.
        #expect(FileManager.default.fileExists(atPath: kept + "/ledger.sqlite"))
        #expect(FileManager.default.fileExists(atPath: kept + "/outbox/P01-000001.ack"))
        // The table for people names each stage.
        let table = try work.coalition("bench", "--records", "500", "--members", "50")
        #expect(table.status == 0, "\(table)")
        for stage in ["verify signature", "submit end to end", "cycle close", "open ledger", "peak memory"] {
            #expect(table.stdout.contains(stage), "\(stage)")
        }
    }

    @Test("the text table fits in 100 columns, its notes wrapped")
    func tableWidth() throws {
        let work = try WorkDirectory()
        defer { work.remove() }
        let result = try work.coalition("bench", "--records", "1000", "--members", "100", "--partners", "3")
        #expect(result.status == 0, "\(result)")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.contains { $0.hasPrefix("submit end to end") }, "\(result)")
        for line in lines { #expect(line.count <= 100, "\(line.count) columns: \(line)") }
        // A wrapped note continues under its column.
        #expect(lines.contains { $0.hasPrefix("   ") && !$0.trimmingCharacters(in: .whitespaces).isEmpty }, "\(result)")
    }
}
