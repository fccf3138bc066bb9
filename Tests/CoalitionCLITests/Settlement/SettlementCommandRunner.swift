import CoalitionFiles
import CoalitionGeneration
import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

/// Runs the built `coalition` executable as a user does: a process of its own, in a
/// temporary working directory, its output captured through files.
final class SettlementCommandRunner {
    typealias Result = CommandRunner.Result

    static let packageRoot = Fixtures.packageRoot
    static let partners = packageRoot + "/partners"
    static let seeds = packageRoot + "/seeds"

    /// The executable `CommandRunner` runs.
    static var executable: String? { CommandRunner.executable?.path }

    /// The working directory; the data directory is `data/` inside it.
    let directory: String
    var data: String { directory + "/data" }

    init() throws {
        directory = (NSTemporaryDirectory() as NSString).appendingPathComponent("coalition-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// Runs `coalition arguments…` in the working directory.
    func run(
        _ arguments: [String],
        executable launched: String? = nil,
        environment: [String: String] = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Result {
        let executable = try #require(
            Self.executable,
            "the coalition executable is not in the build products",
            sourceLocation: sourceLocation
        )
        return try CommandRunner.run(
            launched == nil ? arguments : arguments.map { $0 == "coalition" ? executable : $0 },
            in: directory,
            executable: launched.map { URL(fileURLWithPath: $0) },
            environment: environment,
            sourceLocation: sourceLocation
        )
    }

    /// Runs a command against the data directory.
    func coalition(_ arguments: String..., sourceLocation: SourceLocation = #_sourceLocation) throws -> Result {
        try run(arguments + ["--data", data], sourceLocation: sourceLocation)
    }

    /// Runs a command against the data directory with `COALITION_FAILPOINT` set.
    func coalition(
        failpoint: String,
        _ arguments: String...,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> Result {
        try run(
            arguments + ["--data", data],
            environment: ["COALITION_FAILPOINT": failpoint],
            sourceLocation: sourceLocation
        )
    }

    /// `coalition init` of the data directory from the demo network.
    func initialize(sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try coalition("init", "--partners", Self.partners, sourceLocation: sourceLocation)
        #expect(result.status == 0, "\(result)", sourceLocation: sourceLocation)
    }

    /// `initialize`, then SKYWAYS's first settlement file, signed with its demo key, in the
    /// working directory as `SKYWAYS-000001.csf`; returns its path.
    func initializedWithSkywaysFile(sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try initialize(sourceLocation: sourceLocation)
        let file = directory + "/SKYWAYS-000001.csf"
        try SettlementCommandFiles.skyways(
            sequence: 1,
            key: try SettlementCommandFiles.demoKey("SKYWAYS-2026A"),
            to: file
        )
        return file
    }

    /// Names in a folder of the data directory, sorted.
    func names(_ folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: data + "/" + folder).sorted()
    }

    func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}

/// Files a partner's system sends, for the command tests.
enum SettlementCommandFiles {
    /// The current time to the second: the command judges created-at against its clock.
    static var now: Timestamp { Timestamp(seconds: Int64(Date().timeIntervalSince1970.rounded(.down))) }

    /// An enrolment and `count - 1` earns of one member, ids from `CLI-<first>`.
    static func records(_ partner: PartnerID, count: Int = 3, first: Int = 0) throws -> [LedgerRecord] {
        let member = ActivityGenerator.memberNumber(7 + first)
        let at = try Timestamp(parsing: "2026-11-19T09:00:00Z")
        var records = [
            LedgerRecord(
                key: try RecordKey(partner: partner, recordID: "CLI-\(first)"),
                occurredAt: at,
                body: .enroll(member: member)
            )
        ]
        for index in 1..<count {
            records.append(
                LedgerRecord(
                    key: try RecordKey(partner: partner, recordID: "CLI-\(first + index)"),
                    occurredAt: at.adding(seconds: Int64(index) * 60),
                    body: .earn(member: member, units: Int64(1000 * index + 1))
                )
            )
        }
        return records
    }

    /// Writes a settlement file of SKYWAYS at `path`, signed with `key` (unsigned when nil).
    @discardableResult
    static func skyways(
        sequence: Int64,
        keyID: String = "SKYWAYS-2026A",
        key: [UInt8]?,
        createdAt: Timestamp = now.adding(seconds: -60),
        to path: String,
        firstRecord: Int = 0
    ) throws -> [UInt8] {
        let partner = try PartnerID("SKYWAYS")
        let header = FileHeader(
            kind: .settlement,
            partner: partner,
            sequence: sequence,
            createdAt: createdAt,
            keyID: keyID
        )
        return try SettlementFile.write(try records(partner, first: firstRecord), header: header, key: key, to: path) {
            "ref \($0.key.recordID)"
        }
    }

    static func demoKey(_ id: String) throws -> [UInt8] {
        try KeyFile.read(SettlementCommandRunner.partners + "/keys/\(id).key")
    }

    static func demoKeyPath(_ id: String) -> String {
        SettlementCommandRunner.partners + "/keys/\(id).key"
    }
}
