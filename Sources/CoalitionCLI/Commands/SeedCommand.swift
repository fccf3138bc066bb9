import CoalitionFiles
import CoalitionGeneration
import CoalitionKit
import Foundation

struct SeedCommand: Command {
    static let path = ["seed"]
    static let summary = "generate the demo's partner activity as unsigned settlement files"
    static let synopsis = ""
    static let options: [OptionSpec] = [
        .value("out", "DIR", "where to write the files (default ./seeds)"),
        .value("partners", "DIR", "the network definition (default ./partners)"),
        .value("members", "N", "members to enroll (default 200)"),
        .value("records", "N", "activity records after enrollment (default 3000)"),
        .value("seed", "N", "the random seed (default 2026)"),
    ]
    static let discussion = """
        Deterministic: the same options give the same bytes. Files are named
        <PARTNER>-<batch>.csf, one per partner and fortnight from 2026-09-01, and carry no
        signature: `coalition demo` signs them with the partners' demo keys, as a partner's
        system would with its own.
        """

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let out = context.arguments.value("out") ?? "seeds"
        let network = try NetworkLoader.load(directory: context.arguments.value("partners") ?? "partners")
        var plan = DemoData.plan
        plan.members = try context.arguments.integer("members", default: plan.members, in: 1...10_000_000)
        plan.records = try context.arguments.integer("records", default: plan.records, in: 0...100_000_000)
        plan.seed = UInt64(try context.arguments.integer("seed", default: Int(plan.seed), in: 0...Int.max))
        let files = try DemoData.write(network: network, plan: plan, to: out)
        if context.json {
            Output.json(SeedOutput(directory: out, files: files), slashes: .escaped)
        } else {
            Output.line("Wrote \(files.count) settlement files to \(out)/")
        }
        return .success
    }
}

/// The demo's seed data: the plan, and how it becomes files.
enum DemoData {
    static let plan: ActivityGenerator.Plan = {
        var plan = ActivityGenerator.Plan(
            members: 200,
            records: 3_000,
            start: try! Timestamp(parsing: "2026-09-01T00:00:00Z"),
            days: 70,
            seed: 2026
        )
        plan.periodDays = 14
        return plan
    }()

    /// Writes the plan's activity into `directory` as unsigned files; returns their names.
    static func write(network: Network, plan: ActivityGenerator.Plan, to directory: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasSuffix(".csf")
        {
            try FileManager.default.removeItem(atPath: directory + "/" + name)
        }
        func keyID(_ partner: PartnerID, _ at: Timestamp) -> String {
            let keys = network.partners[partner]!.keys.filter { $0.isValid(at: at) }
            return keys.max { $0.validFrom < $1.validFrom }?.id ?? network.partners[partner]!.keys[0].id
        }
        // Members who joined early in 2025 and never came back: their points expire in 2026.
        var legacy: [File] = []
        var first: [PartnerID: Int64] = [:]
        let legacyCreated = try Timestamp(parsing: "2025-06-01T00:00:00Z")
        for (p, id) in ["SKYWAYS", "HARBOR"].enumerated() {
            guard let partner = network.partners[try PartnerID(id)] else { continue }
            var records: [LedgerRecord] = []
            for i in 0..<6 {
                let number = try MemberNumber.withCheckDigit(600_199_000_000 + UInt64(p * 10 + i))
                let joined = try Timestamp(parsing: "2025-03-0\(1 + i)T10:00:00Z")
                records.append(
                    LedgerRecord(
                        key: try RecordKey(partner: partner.id, recordID: "\(id.prefix(3))-L\(p)\(i)E"),
                        occurredAt: joined,
                        body: .enroll(member: number)
                    )
                )
                records.append(
                    LedgerRecord(
                        key: try RecordKey(partner: partner.id, recordID: "\(id.prefix(3))-L\(p)\(i)A"),
                        occurredAt: joined.adding(days: 20 + Int64(i) * 5),
                        body: .earn(member: number, units: 3_000 + Int64(i) * 1_500)
                    )
                )
            }
            legacy.append(
                File(
                    header: FileHeader(
                        kind: .settlement,
                        partner: partner.id,
                        sequence: 1,
                        createdAt: legacyCreated,
                        keyID: keyID(partner.id, legacyCreated)
                    ),
                    records: records
                )
            )
            first[partner.id] = 2
        }
        let (enrollments, activity) = ActivityGenerator.generate(network: network, plan: plan)
        let files = legacy + SeedFiles.split(enrollments + activity, plan: plan, firstSequence: first, keyID: keyID)
        var names: [String] = []
        for file in files {
            let name = file.header.fileStem + ".csf"
            try SettlementFile.write(
                file.records,
                header: file.header,
                key: nil,
                to: directory + "/" + name,
                reference: SeedFiles.reference
            )
            names.append(name)
        }
        return names
    }

    typealias File = SeedFiles.File
}

/// What `seed --json` prints: where the files went, and their names.
struct SeedOutput: Encodable {
    let directory: String
    let files: [String]
}
