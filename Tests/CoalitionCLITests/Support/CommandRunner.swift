import CoalitionTestSupport
import Foundation
import Testing

/// Runs the built `coalition` executable the way a user does, as swift-argument-parser's
/// tests do: a separate process, in a working directory of its own.
enum CommandRunner {
    struct Result: CustomStringConvertible {
        let status: Int32
        let stdout: String
        let stderr: String

        var description: String { "exit \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
    }

    static let packageRoot = URL(fileURLWithPath: Fixtures.packageRoot)

    static let partnersDirectory = packageRoot.appendingPathComponent("partners").path
    static let seedsDirectory = packageRoot.appendingPathComponent("seeds").path

    /// The built executable: `COALITION_EXECUTABLE` (another build, an older one to see a
    /// test fail), else next to the test bundle in the products directory (where `swift test`
    /// puts both; macOS keeps the test binary a few levels down in `X.xctest/`), else in the
    /// package's `.build/debug`.
    static let executable: URL? = {
        let fileManager = FileManager.default
        var candidates: [URL] = []
        if let path = ProcessInfo.processInfo.environment["COALITION_EXECUTABLE"] {
            candidates.append(URL(fileURLWithPath: path))
        }
        var directories = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
        if let first = CommandLine.arguments.first {
            directories.append(URL(fileURLWithPath: first).deletingLastPathComponent())
        }
        if let exe = try? fileManager.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            directories.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        for directory in directories {
            var url = directory
            for _ in 0..<4 {
                candidates.append(url.appendingPathComponent("coalition"))
                url.deleteLastPathComponent()
            }
        }
        candidates.append(packageRoot.appendingPathComponent(".build/debug/coalition"))
        return candidates.first { url in
            var isDirectory: ObjCBool = false
            return fileManager.fileExists(atPath: url.path, isDirectory: &isDirectory) && !isDirectory.boolValue
                && fileManager.isExecutableFile(atPath: url.path)
        }
    }()

    /// Runs `coalition arguments…` in `directory`; output goes through files, so a chatty
    /// command can never block on a full pipe.
    static func run(
        _ arguments: [String],
        in directory: String,
        executable launched: URL? = nil,
        environment: [String: String] = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Result {
        let built = try #require(
            executable,
            "the coalition executable was not found next to the tests",
            sourceLocation: sourceLocation
        )
        let outputs = (NSTemporaryDirectory() as NSString).appendingPathComponent("coalition-out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: outputs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: outputs) }
        let stdoutPath = (outputs as NSString).appendingPathComponent("stdout")
        let stderrPath = (outputs as NSString).appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let stdout = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        let stderr = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        let process = Process()
        process.executableURL = launched ?? built
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        process.waitUntilExit()
        try stdout.close()
        try stderr.close()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: FileManager.default.contents(atPath: stdoutPath) ?? Data(), as: UTF8.self),
            stderr: String(decoding: FileManager.default.contents(atPath: stderrPath) ?? Data(), as: UTF8.self)
        )
    }
}

/// A fresh working directory for one test.
struct WorkDirectory {
    let path: String

    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("coalition-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ parts: String...) -> String {
        parts.reduce(path) { ($0 as NSString).appendingPathComponent($1) }
    }

    /// Every file under `directory` with its bytes: what "untouched" compares.
    func snapshot(_ directory: String) -> [String: Data] {
        var out: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let name = enumerator?.nextObject() as? String {
            let full = (directory as NSString).appendingPathComponent(name)
            out[name] = FileManager.default.contents(atPath: full) ?? Data()
        }
        return out
    }

    /// Runs `coalition` here with `--partners` and `--data` given as absolute paths.
    func coalition(_ arguments: String..., data: String? = nil) throws -> CommandRunner.Result {
        var words = arguments
        if let data { words += ["--data", data] }
        return try CommandRunner.run(words, in: path)
    }

    /// `coalition demo` into `data` from the demo network and seeds; it must succeed.
    func demo(data: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let demo = try coalition(
            "demo",
            "--partners",
            CommandRunner.partnersDirectory,
            "--seeds",
            CommandRunner.seedsDirectory,
            data: data
        )
        try #require(demo.status == 0, "\(demo)", sourceLocation: sourceLocation)
    }

    /// A new work directory with a demo data directory in `data/` (one cycle closed through
    /// 2026-11-10T00:00:00Z), and that data directory.
    static func withDemo(sourceLocation: SourceLocation = #_sourceLocation) throws -> (WorkDirectory, String) {
        let work = try WorkDirectory()
        let data = work.file("data")
        try work.demo(data: data, sourceLocation: sourceLocation)
        return (work, data)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
