import CoalitionFiles
import CoalitionGeneration
import CoalitionKit
import CoalitionSQLite
import Foundation
import Testing

/// Generated activity of every partner, sent as signed files, from seeded generators: every
/// file is accepted, the audit is clean, and every file sent again changes nothing.
@Suite("Settlement: generated partner activity")
struct GeneratedSettlementTests {
    @Test(
        "signed generated files are accepted, audit clean, and replays change nothing",
        arguments: [11, 2026, 90_210]
    )
    func generatedFiles(seed: UInt64) throws {
        let sandbox = try SettlementSandbox()
        var plan = ActivityGenerator.Plan(
            members: 40,
            records: 400,
            start: SettlementTime.at("2026-09-01T00:00:00Z"),
            days: 42,
            seed: seed
        )
        plan.periodDays = 14
        let network = sandbox.network
        let (enrollments, activity) = ActivityGenerator.generate(network: network, plan: plan)
        let files = SeedFiles.split(enrollments + activity, plan: plan) { partner, at in
            let keys = network.partners[partner]!.keys.filter { $0.isValid(at: at) }
            return keys.max { $0.validFrom < $1.validFrom }!.id
        }
        #expect(Set(files.map(\.header.partner)) == Set(network.partners.keys))
        #expect(files.count >= 8)

        var paths: [String] = []
        var applied = 0
        var records = 0
        for file in files {
            let path = sandbox.root + "/files/" + file.header.fileStem + ".csf"
            try SettlementFile.write(
                file.records,
                header: file.header,
                key: try sandbox.secret(file.header.keyID),
                to: path,
                reference: SeedFiles.reference
            )
            let result = try sandbox.ingestAccepted(path, chunkRecords: 50)
            let summary = try #require(result.summary)
            #expect(summary.records == file.records.count)
            applied += summary.accepted
            records += summary.records
            paths.append(path)
        }
        #expect(records == enrollments.count + activity.count)
        #expect(applied > records * 9 / 10)
        #expect(sandbox.ledger.state.members.count == plan.members)
        let audit = try Audit.run(sandbox.ledger)
        #expect(audit.isClean, "\(audit.problems)")
        #expect(audit.postings == Int64(applied))
        try sandbox.ledger.checkInvariants()

        let before = try sandbox.image
        for (file, path) in zip(files, paths) {
            let ackPath = Ingestor.acknowledgementPath(sandbox.outbox, file.header)
            let ack = try SettlementAck.bytes(ackPath)
            let replay = try sandbox.ingest(path, now: SettlementTime.now.adding(seconds: 3600))
            #expect(replay.status == .duplicate, "\(path)")
            #expect(replay.acknowledgement == ackPath)
            #expect(try SettlementAck.bytes(ackPath) == ack, "\(path)")
        }
        try sandbox.expectUnchanged(since: before)
    }
}
