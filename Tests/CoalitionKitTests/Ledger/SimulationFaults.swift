import CoalitionKit
import Testing

extension Simulator {
    /// The store fails a batch at a seeded step of its write (`FaultyStore`: the database
    /// busy, a short write, the disk full, the sync or the commit failing). The writer is
    /// told with a code; the ledger, in memory and stored, is exactly as before the batch;
    /// sometimes the process then dies and starts again; the same batch retried (the same
    /// records, or the same transfer with its idempotency key) then goes through.
    mutating func storeFault() throws {
        let kind = FaultyStore.Kind.allCases.randomElement(using: &random)!
        let strikeAt =
            switch kind {
            case .busy: Int.random(in: 0...2, using: &random)
            case .shortWrite, .diskFull: Int.random(in: 1...3, using: &random)
            case .fsyncFailure, .failedCommit: Int.max
            }
        let fault = FaultyStore.Fault(kind: kind, step: strikeAt)
        let before = try image()
        let content = store.content
        let members = model.members.sorted()
        let isTransfer = members.count >= 2 && random.chance(30)
        var planned: [OperationGenerator.Planned] = []
        var request: TransferRequest?
        if isTransfer {
            request = TransferRequest(
                from: members[Int.random(in: 0..<members.count, using: &random)],
                to: members[Int.random(in: 0..<members.count, using: &random)],
                points: Int64.random(in: 10...30, using: &random) * 100,
                idempotencyKey: "SIM-FAULT-\(seed)-\(step)",
                at: now
            )
        } else {
            planned = generator.makeBatch(Int.random(in: 1...20, using: &random), ledger: ledger)
        }
        faulty.armed = fault
        do {
            if let request {
                _ = try ledger.transfer(request)
            } else {
                _ = try ledger.apply(planned.map(\.record), info: BatchInfo(source: "sim fault", receivedAt: now))
            }
            // Every batch reaches `finish`, where a fault armed strikes at the latest.
            Issue.record("\(place): a batch the store failed (\(fault)) went through")
            faulty.armed = nil
            return
        } catch let error as CoalitionError where faulty.armed == nil {
            #expect(error.code == (kind == .busy ? .ledgerBusy : .storeFailure), "\(place): \(fault): \(error)")
        } catch {
            // Refused by the rules (a transfer to oneself, too few points) before any write.
            faulty.armed = nil
            #expect(try image() == before, "\(place): a refused transfer changed the ledger")
            return
        }
        #expect(try image() == before, "\(place): \(fault) left the ledger changed in memory")
        #expect(store.content == content, "\(place): \(fault) left the store changed")
        if random.chance(30) { try restart() }
        if let request {
            // A fault at `begin` struck before the transfer's rules were checked: the retry may
            // be the first to refuse it, and then changes nothing.
            let before = try image()
            do {
                let result = try ledger.transfer(request)
                #expect(!result.isReplay, "\(place): a transfer whose batch failed (\(fault)) was taken as done")
                model.transfers[request.idempotencyKey!] = (request, result)
                model.accepted[.transfers, default: 0] += 1
            } catch let error as CoalitionError where error.code != .storeFailure && error.code != .ledgerBusy {
                #expect(try image() == before, "\(place): a refused transfer changed the ledger")
            }
        } else {
            try apply(planned)
        }
    }
}
