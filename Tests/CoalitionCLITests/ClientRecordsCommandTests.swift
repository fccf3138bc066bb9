import Foundation
import Testing

@Suite("coalition client records: signed single records to a server, the same ids replayed", .serialized)
struct ClientRecordsCommandTests {
    let partners = CommandRunner.partnersDirectory
    let seeds = CommandRunner.seedsDirectory

    @Test("records are applied, then replayed by a rerun with the same ids; a server gone is exit 1")
    func appliedThenReplayed() throws {
        let work = try WorkDirectory()
        defer { work.remove() }
        let data = work.file("data")
        let demo = try work.coalition("demo", "--partners", partners, "--seeds", seeds, data: data)
        try #require(demo.status == 0, "\(demo)")
        let members = work.file("members")
        try "6001000000010\n".write(toFile: members, atomically: true, encoding: .utf8)
        let (process, port) = try startServe(data: data, output: work.file("serve.out"), extra: ["--plain-http"])
        defer { if process.isRunning { process.terminate() } }
        let bound = try #require(port)
        func send(_ count: Int) throws -> CommandRunner.Result {
            try work.coalition(
                "client",
                "records",
                "--url",
                "http://127.0.0.1:\(bound)",
                "--partner",
                "HARBOR",
                "--key",
                work.file("data", "keys", "HARBOR-2026A.key"),
                "--members",
                members,
                "--count",
                String(count),
                "--connections",
                "2",
                "--prefix",
                "CLI"
            )
        }
        let first = try send(4)
        #expect(first.status == 0, "\(first)")
        #expect(first.stdout == (1...4).map { "CLI-00000\($0) 200 applied\n" }.joined())
        // Two more with the first four: the four replayed, the two applied now.
        let again = try send(6)
        #expect(again.status == 0, "\(again)")
        let expected = (1...6).map { "CLI-00000\($0) 200 \($0 <= 4 ? "replayed" : "applied")\n" }.joined()
        #expect(again.stdout == expected)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(try work.coalition("audit", data: data).status == 0)
        // Nobody listens any more: nothing answered, exit 1.
        let gone = try send(2)
        #expect(gone.status == 1, "\(gone)")
        #expect(gone.stdout.isEmpty)
    }
}
