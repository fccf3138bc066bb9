import CoalitionKit

/// What became of one single record (`POST /v1/records`), once durable.
package enum SingleRecordResult: Sendable, Equatable {
    /// Applied now.
    case applied(RecordReceipt)
    /// Applied before, by this request or a file, with the same content: the same receipt.
    case replayed(RecordReceipt)
    /// Refused by the ledger's rules; nothing was applied.
    case rejected(CoalitionError)
    /// Its record id was applied before with other content (`DUPLICATE_RECORD`).
    case conflict(CoalitionError)
}

/// A single record waiting for the writer, and, once applied, what became of it.
final class RecordJob: WriterJob {
    let record: LedgerRecord
    let receivedAt: Timestamp
    /// Set on the writer thread by `SingleRecords.apply`.
    var outcome: Result<SingleRecordResult, any Error>?
    /// What the caller reads, under the writer's lock, once `finish` set it.
    private(set) var result: Result<SingleRecordResult, any Error>?

    init(_ record: LedgerRecord, receivedAt: Timestamp) {
        self.record = record
        self.receivedAt = receivedAt
    }

    func run(_ ledger: Ledger) { SingleRecords.apply([self], to: ledger) }

    func refuse(_ error: any Error) { outcome = .failure(error) }

    func finish() { result = outcome }

    var isFinished: Bool { result != nil }
}

/// Group commit of single records, on the writer thread.
///
/// Every record of a group whose id the ledger has not applied yet goes into ONE batch: one
/// transaction, one sync, however many partners and records. A record id the ledger already
/// holds (from a file or an earlier request), or that an earlier record of the same group
/// carries, is not applied again: once the batch is durable it is answered from the journal,
/// the same receipt as the first answer if its content is the same, a conflict if not. The
/// record index is the one the files use, so a file and a single record can never both apply
/// the same record id.
enum SingleRecords {
    static func apply(_ jobs: [RecordJob], to ledger: Ledger) {
        do {
            var seen: Set<RecordKey> = []
            var fresh: [Int] = []
            for (index, job) in jobs.enumerated() where seen.insert(job.record.key).inserted {
                if try ledger.record(job.record.key) == nil { fresh.append(index) }
            }
            var outcomes: [Int: RecordOutcome] = [:]
            if let first = fresh.first {
                let info = BatchInfo(source: "api", receivedAt: jobs[first].receivedAt)
                let applied = try ledger.apply(fresh.map { jobs[$0].record }, info: info)
                for (index, outcome) in zip(fresh, applied) { outcomes[index] = outcome }
            }
            for (index, job) in jobs.enumerated() {
                switch outcomes[index] {
                case .rejected(let error):
                    job.outcome = .success(.rejected(error))
                case .accepted:
                    job.outcome = .success(try answer(job.record, from: ledger, replayed: false))
                case nil:
                    job.outcome = .success(try replay(job, on: ledger))
                }
            }
        } catch {
            for job in jobs where job.outcome == nil { job.outcome = .failure(error) }
        }
    }

    /// The answer to a record whose id was not applied in this group: from the journal if
    /// the id is there; applied alone if not (the group's first record with this id was
    /// refused, so this one is judged on its own).
    private static func replay(_ job: RecordJob, on ledger: Ledger) throws -> SingleRecordResult {
        if try ledger.record(job.record.key) != nil { return try answer(job.record, from: ledger, replayed: true) }
        let info = BatchInfo(source: "api", receivedAt: job.receivedAt)
        switch try ledger.apply([job.record], info: info).first {
        case .rejected(let error): return .rejected(error)
        default: return try answer(job.record, from: ledger, replayed: false)
        }
    }

    /// The receipt of `record`, applied, read back from the journal; a conflict if the
    /// journal's record under its id has other content.
    static func answer(_ record: LedgerRecord, from ledger: Ledger, replayed: Bool) throws -> SingleRecordResult {
        guard let entry = try ledger.record(record.key), let posting = try ledger.store.posting(seq: entry.seq) else {
            throw CoalitionError(.storeFailure, "record \(record.key) is not in the journal")
        }
        guard matches(record, posting) else {
            return .conflict(
                CoalitionError(
                    .duplicateRecord,
                    "record id \(record.key.recordID) was already applied with other content",
                    at: Place(recordID: record.key.recordID)
                )
            )
        }
        var obligations: [Obligation] = []
        if let member = posting.member, posting.kind != .enroll {
            obligations = try ledger.store.obligations(causedBy: member).filter { $0.postingSeq == posting.seq }
        }
        let receipt = RecordReceipt(posting: posting, obligations: obligations)
        return replayed ? .replayed(receipt) : .applied(receipt)
    }

    /// Whether `record` is the one the journal's `posting` holds: the same type, member (or
    /// original), amount and time. A reversal without an amount (all that was left) matches
    /// whatever amount it undid. The reference is not kept by the journal and not compared.
    static func matches(_ record: LedgerRecord, _ posting: Posting) -> Bool {
        guard posting.occurredAt == record.occurredAt else { return false }
        switch record.body {
        case .enroll(let member, _):
            return posting.kind == .enroll && posting.member == member
        case .earn(let member, let units):
            return posting.kind == .earn && posting.member == member && posting.units == units
        case .redeem(let member, let units):
            return posting.kind == .redeem && posting.member == member && posting.units == units
        case .reverse(let original, let units):
            return [.reverseEarn, .reverseRedeem].contains(posting.kind)
                && PostingDetail(posting.detail).original == original && (units == nil || units == posting.units)
        }
    }
}
