import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

/// A deterministic simulation of the engine over the in-memory store: from one seed, a random
/// interleaving of partners' batches, replays, member transfers (new and retried), tier
/// reviews, expiry, cycle closes, failed commits, store faults at a seeded step of a batch's
/// write (`FaultyStore`) and crashes with restarts. After every step
/// the invariants, the audit, a reload from the store and a small reference model are
/// checked. A failing seed is printed with the command that runs it alone.
///
/// `swift test --filter SimulationTests` runs the seeds below; `.ci/simulate N` (or
/// `COALITION_SIMULATION_SEEDS=FIRST-LAST`, or one seed) runs any others.
@Suite("Deterministic simulation: random interleavings of every operation, checked after each step")
struct SimulationTests {
    static let seeds: [UInt64] = {
        let text = ProcessInfo.processInfo.environment["COALITION_SIMULATION_SEEDS"] ?? "1-150"
        let bounds = text.split(separator: "-").compactMap { UInt64($0) }
        guard let first = bounds.first else { return [1] }
        return Array(first...(bounds.count > 1 ? max(first, bounds[1]) : first))
    }()

    @Test("a seeded run keeps every invariant and the reference model at every step", arguments: seeds)
    func simulate(seed: UInt64) throws {
        var simulator = try Simulator(seed: seed)
        try simulator.run(steps: 30)
    }
}

/// One simulated run. Its only source of randomness is its seed.
struct Simulator {
    enum Step: String, CaseIterable {
        case batch, replay, transfer, retryTransfer, tierReview, expire, cycleClose, failedCommit, storeFault, restart
    }

    /// What the simulation expects the ledger to hold, kept apart from the engine.
    struct Model {
        /// Records accepted per partner (transfers under their own namespace).
        var accepted: [PartnerID: Int] = [:]
        var members: Set<MemberNumber> = []
        var cycles = 0
        /// Transfers done, by idempotency key: what a retry must answer.
        var transfers: [String: (TransferRequest, TransferResult)] = [:]
    }

    let seed: UInt64
    let network = Fixtures.network
    let store: InMemoryStore
    /// What the ledger writes through: `store`, with a fault armed now and then.
    let faulty: FaultyStore
    var ledger: Ledger
    var generator: OperationGenerator
    var random: SeededGenerator
    var model = Model()
    var applied: [[LedgerRecord]] = []
    var step = 0
    var current = Step.batch

    init(seed: UInt64) throws {
        self.seed = seed
        let store = InMemoryStore()
        self.store = store
        faulty = FaultyStore(store)
        ledger = try Ledger(network: network, store: faulty)
        generator = OperationGenerator(
            network: network,
            seed: seed,
            start: Fixtures.time("2026-01-05T00:00:00Z"),
            step: 3_600
        )
        random = SeededGenerator(seed: seed ^ 0x5151)
    }

    /// Where a fault is reported: the seed, the step, and how to run it alone.
    var place: String {
        "seed \(seed), step \(step) (\(current)): reproduce with COALITION_SIMULATION_SEEDS=\(seed) "
            + "swift test --filter SimulationTests"
    }

    mutating func run(steps: Int) throws {
        // Members first, so that the other steps have someone to act on.
        try batch(size: 40)
        for index in 1...steps {
            step = index
            current = pick()
            switch current {
            case .batch: try batch(size: Int.random(in: 0...40, using: &random))
            case .replay: try replay()
            case .transfer: try transfer()
            case .retryTransfer: try retryTransfer()
            case .tierReview: try tierReview()
            case .expire: try expire()
            case .cycleClose: try cycleClose()
            case .failedCommit: try failedCommit()
            case .storeFault: try storeFault()
            case .restart: try restart()
            }
            try check()
        }
    }

    mutating func pick() -> Step {
        let weights: [(Step, Int)] = [
            (.batch, 8), (.replay, 2), (.transfer, 3), (.retryTransfer, 2), (.tierReview, 1), (.expire, 1),
            (.cycleClose, 2), (.failedCommit, 1), (.storeFault, 3), (.restart, 2),
        ]
        var roll = Int.random(in: 0..<weights.reduce(0) { $0 + $1.1 }, using: &random)
        for (step, weight) in weights {
            if roll < weight { return step }
            roll -= weight
        }
        return .batch
    }

    var now: Timestamp { generator.time }

    mutating func batch(size: Int) throws {
        try apply(generator.makeBatch(size, ledger: ledger))
    }

    /// Applies the planned records as one batch and books what was accepted in the model.
    mutating func apply(_ planned: [OperationGenerator.Planned]) throws {
        let records = planned.map(\.record)
        let outcomes = try ledger.apply(records, info: BatchInfo(source: "sim", receivedAt: now))
        #expect(outcomes.count == records.count, "\(place)")
        for (record, outcome) in zip(records, outcomes) where outcome.isAccepted {
            model.accepted[record.key.partner, default: 0] += 1
            if case .enroll(let member, _) = record.body { model.members.insert(member) }
        }
        generator.observe(planned, outcomes)
        applied.append(zip(records, outcomes).filter { $0.1.isAccepted }.map(\.0))
    }

    /// A batch sent again: every record is a duplicate and nothing changes but the batch log.
    mutating func replay() throws {
        guard !applied.isEmpty else { return }
        let records = applied[Int.random(in: 0..<applied.count, using: &random)]
        let before = try image()
        let outcomes = try ledger.apply(records, info: BatchInfo(source: "sim replay", receivedAt: now))
        for outcome in outcomes {
            guard case .rejected(let error) = outcome, error.code == .duplicateRecord else {
                Issue.record("\(place): a replayed record was \(outcome)")
                continue
            }
        }
        #expect(StateImage(ledger.state, includingBatchLog: false) == before.state, "\(place)")
        #expect(store.content.postings.count == before.postings, "\(place)")
    }

    mutating func transfer() throws {
        let members = model.members.sorted()
        guard members.count >= 2 else { return }
        let from = members[Int.random(in: 0..<members.count, using: &random)]
        let to = members[Int.random(in: 0..<members.count, using: &random)]
        let points = Int64.random(in: 10...30, using: &random) * 100
        let key = "SIM-\(seed)-\(step)"
        let request = TransferRequest(from: from, to: to, points: points, idempotencyKey: key, at: now)
        let before = try image()
        do {
            let result = try ledger.transfer(request)
            #expect(!result.isReplay, "\(place)")
            model.transfers[key] = (request, result)
            model.accepted[.transfers, default: 0] += 1
        } catch let error as CoalitionError {
            // Refused (same member, limits, balance): nothing changed at all.
            #expect(error.code != .storeFailure, "\(place): \(error)")
            #expect(try image() == before, "\(place): a refused transfer changed the ledger")
        }
    }

    /// A transfer retried with its key: the first result, and nothing written.
    mutating func retryTransfer() throws {
        guard let key = model.transfers.keys.sorted().randomElement(using: &random),
            let (request, first) = model.transfers[key]
        else { return }
        let before = try image()
        let again = try ledger.transfer(request)
        #expect(again.isReplay && again.seq == first.seq && again.points == first.points, "\(place)")
        #expect(try image() == before, "\(place): a retried transfer wrote something")
    }

    /// A review, then another for the same date: the second changes nothing and writes
    /// nothing, whatever the downgrade policy (a review is idempotent per date).
    mutating func tierReview() throws {
        _ = try ledger.reviewTiers(asOf: now, now: now)
        let before = try image()
        let again = try ledger.reviewTiers(asOf: now, now: now)
        #expect(again.isEmpty, "\(place): a second review of the day changed \(again)")
        #expect(try image() == before, "\(place): a second review wrote something")
    }

    mutating func expire() throws {
        _ = try ledger.expire(asOf: now, now: now)
        let before = try image()
        #expect(try ledger.expire(asOf: now, now: now).lots == 0, "\(place)")
        #expect(try image() == before, "\(place): a second expiry wrote something")
    }

    mutating func cycleClose() throws {
        let last = try store.cycles().last
        switch try CycleCloser.close(ledger, through: now, now: now) {
        case .closed(let cycle):
            #expect(last.map { $0.through < now } ?? true, "\(place)")
            #expect(cycle.number == Int64(model.cycles + 1), "\(place)")
            model.cycles += 1
        case .alreadyClosed:
            #expect(last.map { $0.through >= now } ?? false, "\(place)")
        }
        let before = try image()
        guard case .alreadyClosed = try CycleCloser.close(ledger, through: now, now: now) else {
            Issue.record("\(place): the same cut-off closed a second cycle")
            return
        }
        #expect(try image() == before, "\(place)")
    }

    /// The store refuses a commit: the ledger, in memory and stored, is as before.
    mutating func failedCommit() throws {
        let before = try image()
        let content = store.content
        store.failNextCommit = true
        let planned = generator.makeBatch(Int.random(in: 1...20, using: &random), ledger: ledger)
        do {
            _ = try ledger.apply(planned.map(\.record), info: BatchInfo(source: "sim failing", receivedAt: now))
            Issue.record("\(place): a commit that was to fail succeeded")
        } catch let error as CoalitionError {
            #expect(error.code == .storeFailure, "\(place): \(error)")
        }
        store.failNextCommit = false
        #expect(try image() == before, "\(place)")
        #expect(store.content == content, "\(place)")
    }

    /// The process dies and starts again: the state is loaded back from the store.
    mutating func restart() throws {
        let before = StateImage(ledger.state)
        ledger = try Ledger(network: network, store: faulty)
        #expect(StateImage(ledger.state) == before, "\(place): the ledger came back different")
    }

    struct Image: Equatable {
        let state: StateImage
        let postings: Int
        let lastBatch: Int64
    }

    func image() throws -> Image {
        Image(
            state: StateImage(ledger.state, includingBatchLog: false),
            postings: store.content.postings.count,
            lastBatch: ledger.state.lastBatch
        )
    }

    /// Invariants, audit, reload, and the reference model.
    func check() throws {
        let latest = store.content.postings.map(\.occurredAt).max()
        do {
            try Invariants.check(ledger.state, asOf: latest)
        } catch {
            Issue.record("\(place): \(error)")
        }
        let report = try Audit.run(ledger)
        #expect(report.problems == [], "\(place)")
        #expect(StateImage(try store.load()) == StateImage(ledger.state), "\(place): the store loads another state")
        var stored: [PartnerID: Int] = [:]
        for posting in store.content.postings where posting.recordID != nil {
            if let partner = posting.partner { stored[partner, default: 0] += 1 }
        }
        #expect(stored == model.accepted.filter { $0.value > 0 }, "\(place): records applied")
        #expect(Set(ledger.state.members.keys) == model.members, "\(place): members")
        #expect(try store.cycles().count == model.cycles, "\(place): cycles")
    }
}
