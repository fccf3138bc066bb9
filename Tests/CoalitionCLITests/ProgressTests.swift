import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a terminal shows while a long command runs: a progress line on standard error,
/// cleared before the next result, and nothing at all when standard error is not a terminal.
@Suite("coalition: progress on a terminal, silence elsewhere")
struct ProgressTests {
    let partners = CommandRunner.partnersDirectory
    let seeds = CommandRunner.seedsDirectory
    static let clear = "\r\u{1B}[K"

    /// The bytes a pseudo-terminal's reader gets, gathered on a thread of their own.
    final class TerminalReader: @unchecked Sendable {
        // Safe: `bytes` is written by the reading thread and read after `done` is signalled.
        private var bytes: [UInt8] = []
        private let done = DispatchSemaphore(value: 0)

        init(_ fd: Int32) {
            Thread.detachNewThread { [self] in
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let count = read(fd, &buffer, buffer.count)
                    if count <= 0 { break }
                    bytes += buffer[0..<count]
                }
                done.signal()
            }
        }

        func text() -> String {
            done.wait()
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// Runs `coalition arguments…` with standard error on a pseudo-terminal and standard output
    /// in a file; returns the exit status, standard output and what the terminal showed.
    func onTerminal(_ arguments: [String], in work: WorkDirectory) throws -> (Int32, String, String) {
        let executable = try #require(CommandRunner.executable)
        var main: Int32 = -1
        var secondary: Int32 = -1
        try #require(openpty(&main, &secondary, nil, nil, nil) == 0)
        let reader = TerminalReader(main)
        let stdoutPath = work.file("stdout-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        let stdout = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: work.path)
        process.environment = ProcessInfo.processInfo.environment.merging(["COALITION_PROGRESS_AFTER": "0"]) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdout
        process.standardError = FileHandle(fileDescriptor: secondary, closeOnDealloc: false)
        try process.run()
        close(secondary)
        process.waitUntilExit()
        try stdout.close()
        let terminal = reader.text()
        close(main)
        let output = try String(contentsOfFile: stdoutPath, encoding: .utf8)
        try? FileManager.default.removeItem(atPath: stdoutPath)
        return (process.terminationStatus, output, terminal)
    }

    /// Whether every progress line drawn was cleared: the terminal ends on a clear, with nothing after it.
    func endsCleared(_ terminal: String) -> Bool {
        guard let last = terminal.range(of: Self.clear, options: .backwards) else { return false }
        return terminal[last.upperBound...].isEmpty
    }

    @Test("ingest: file n of N on the terminal, each line cleared, a total at the end; silent without a terminal")
    func ingest() throws {
        let work = try WorkDirectory()
        defer { work.remove() }
        let data = work.file("data")
        #expect(try work.coalition("init", "--partners", partners, data: data).status == 0)
        var count = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: seeds) where name.hasSuffix(".csf") {
            let target = work.file("data", "inbox", name)
            try FileManager.default.copyItem(atPath: seeds + "/" + name, toPath: target)
            let head = String(
                decoding: try #require(FileManager.default.contents(atPath: target)).prefix(200),
                as: UTF8.self
            )
            let keyID = try #require(head.split(separator: "\n")[0].split(separator: "|").last)
            #expect(try work.coalition("sign", target, "--key", partners + "/keys/\(keyID).key").status == 0)
            count += 1
        }
        let (status, stdout, terminal) = try onTerminal(["ingest", "--data", data], in: work)
        #expect(status == 0, "\(stdout)\(terminal)")
        #expect(terminal.contains("(file 1 of \(count)): "), "\(terminal)")
        #expect(terminal.contains("(file \(count) of \(count)): 100%"), "\(terminal)")
        #expect(endsCleared(terminal), "\(terminal.debugDescription)")
        #expect(!terminal.contains("\n"), "progress never leaves a line behind: \(terminal.debugDescription)")
        #expect(stdout.split(separator: "\n").count == count + 1, "\(stdout)")
        #expect(
            stdout.hasSuffix(
                "\(count) files: \(count) accepted, 0 duplicate, 0 rejected; 3224 records in the accepted files: 3223 applied, 1 rejected\n"
            ),
            "\(stdout)"
        )

        // Without a terminal: the same work, not a byte of progress.
        let audit = try work.coalition("audit", data: data)
        #expect(audit.status == 0 && audit.stderr == "", "\(audit)")
        let (auditStatus, auditOut, auditTerminal) = try onTerminal(["audit", "--data", data], in: work)
        #expect(auditStatus == 0, "\(auditOut)\(auditTerminal)")
        #expect(auditOut.hasPrefix("audit: OK: "), "\(auditOut)")
        let postings = try #require(auditOut.split(separator: " ").dropFirst(2).first)
        #expect(
            auditTerminal.contains("audit: ") && auditTerminal.contains("(1,024 of "),
            "\(auditTerminal.debugDescription)"
        )
        #expect(
            auditTerminal.contains(" of \(Int64(postings).map(Points.grouped) ?? "?") postings)"),
            "\(auditTerminal.debugDescription)"
        )
        #expect(endsCleared(auditTerminal), "\(auditTerminal.debugDescription)")

        // Work that cannot count its steps: whatever the terminal showed, it was cleared.
        for words in [
            ["expire", "--as-of", "2026-11-10"], ["tiers", "review", "--as-of", "2026-11-10"],
            ["cycle", "close", "--through", "2026-11-10"], ["partners", "list"],
        ] {
            let (status, out, shown) = try onTerminal(words + ["--data", data], in: work)
            #expect(status == 0, "\(words): \(out)\(shown)")
            #expect(shown.isEmpty || endsCleared(shown), "\(words): \(shown.debugDescription)")
            #expect(!shown.contains("\n"), "\(words): \(shown.debugDescription)")
        }
    }
}
