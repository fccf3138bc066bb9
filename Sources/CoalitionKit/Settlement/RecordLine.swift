import Foundation

extension LedgerRecord {
    /// Parses one record line of `partner`'s settlement file, without its line end, by the
    /// very rules a file's records are read with (`docs/settlement-format.md`): the same
    /// fields, checks, limits and reason codes. The partner API builds this line from a
    /// record sent as JSON, so a single record and a file's record can never be read by two
    /// sets of rules. A trailer or signature line is `MALFORMED_RECORD` here.
    package static func parse(line: String, partner: PartnerID) -> Result<LedgerRecord, CoalitionError> {
        let bytes = Array(line.utf8)
        let parsed = bytes.withUnsafeBufferPointer { buffer -> BodyLine in
            var totals = ControlTotals()
            var fields: RecordParser.Fields = []
            return RecordParser.parse(buffer, number: 1, partner: partner, totals: &totals, fields: &fields)
        }
        switch parsed {
        case .record(let record):
            return .success(record)
        case .fault(let recordID, let error):
            return .failure(recordID.isEmpty ? error : error.located(Place(recordID: recordID)))
        case .trailer, .signature:
            return .failure(CoalitionError(.malformedRecord, "the line is not a record"))
        }
    }
}
