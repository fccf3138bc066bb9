import CoalitionFiles
import CoalitionKit
import CoalitionSQLite
import Foundation
import Testing

/// What the store tests share: the demo network, temporary ledgers, state comparison.
enum Fixtures {
    /// The package root, derived from this file's place in `Tests/CoalitionSQLiteTests/Support/`.
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let network: Network = {
        do {
            return try NetworkLoader.load(directory: (packageRoot as NSString).appendingPathComponent("partners"))
        } catch {
            fatalError("the demo network does not load: \(error)")
        }
    }()

    static func time(_ text: String) -> Timestamp { try! Timestamp(parsing: text) }

    static let info = BatchInfo(source: "test", receivedAt: Timestamp(seconds: 1_780_000_000))

    /// Seeded demo activity: enrollments, then earns, redemptions and reversals.
    static func activity(seed: UInt64, members: Int = 80, records: Int = 1_200) -> [LedgerRecord] {
        let plan = ActivityGenerator.Plan(
            members: members,
            records: records,
            start: time("2026-09-01T00:00:00Z"),
            days: 60,
            seed: seed
        )
        let generated = ActivityGenerator.generate(network: network, plan: plan)
        return generated.enrollments + generated.activity
    }

    /// `records` cut into batches of seeded, varying sizes.
    static func batches(_ records: [LedgerRecord], seed: UInt64) -> [[LedgerRecord]] {
        var random = SeededGenerator(seed: seed)
        var out: [[LedgerRecord]] = []
        var rest = records[...]
        while !rest.isEmpty {
            let size = Int.random(in: 1...250, using: &random)
            out.append(Array(rest.prefix(size)))
            rest = rest.dropFirst(size)
        }
        return out
    }
}

/// A fresh directory under the system's temporary directory.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("coalition-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    var ledgerPath: String { file("ledger.sqlite") }

    /// The names in the directory, sorted.
    var listing: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A ledger state in a form that compares as a whole: every field of `LedgerSnapshot`.
struct StateImage: Equatable {
    let members: [MemberNumber: MemberAccount]
    let accounts: [AccountKey: Int64]
    let records: RecordIndex
    let lastSeq: Int64
    let lastHash: [UInt8]
    let lastBatch: Int64
    let lastLotID: Int64
    let lastObligationID: Int64
    let referrals: [MemberNumber: Referral]

    init(_ state: LedgerSnapshot) {
        members = state.members
        accounts = state.accounts
        records = state.records
        lastSeq = state.lastSeq
        lastHash = state.lastHash
        lastBatch = state.lastBatch
        lastLotID = state.lastLotID
        lastObligationID = state.lastObligationID
        referrals = state.referrals.links
    }
}

/// Runs `body` and returns the `CoalitionError` it throws; records an issue otherwise.
@discardableResult
func expectError<T>(
    _ code: ReasonCode,
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> T
) -> CoalitionError? {
    do {
        _ = try body()
        Issue.record("expected \(code), got a value", sourceLocation: sourceLocation)
        return nil
    } catch let error as CoalitionError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected \(code), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// The bytes of the file at `path`, or nil if there is none.
func contents(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }
