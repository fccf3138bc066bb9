// libFuzzer entry point: the settlement file reader, as the coalition reads a partner's file.
// Built only by `.ci/fuzz` (COALITION_FUZZ=1, -sanitize=fuzzer,address); see docs/reliability.md.
import Foundation
import FuzzSupport

@testable import CoalitionFiles
@testable import CoalitionKit

/// One input: a first byte that picks how the rest is taken, then the file's bytes.
/// - even: the bytes are the whole file, as received (a mutant of a signed file, or junk);
/// - odd: the bytes are a file's unsigned body, signed here with the test key, so the record
///   parser behind the signature check is reached.
///
/// Invariants (a failure traps, which libFuzzer reports as a crash):
/// - a file the verifier accepts ends with `S|` and the HMAC-SHA256, under the key, of every
///   byte before that line, computed here in one piece;
/// - its header parses back from its own canonical line to the same header;
/// - every line after the header is one of record, record fault, trailer, signature; a parsed
///   record written out again (`SettlementFile.line(for:)`) parses to the same record;
/// - nothing traps, whatever the bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSettlementFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    var bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if data[0] & 1 == 1 { bytes += SignedFileFuzzing.signatureLine(for: bytes) }
    let path = SignedFileFuzzing.write(bytes)
    guard let header = try? FileSigning.verify(path: path, kinds: [.settlement], key: SignedFileFuzzing.key) else {
        return 0
    }
    SignedFileFuzzing.checkSigned(bytes)
    SignedFileFuzzing.checkHeaderRoundTrip(header, kinds: [.settlement])
    checkRecords(bytes, partner: header.partner)
    return 0
}

/// Parses every body line as the ingestor does and checks each record's round trip.
private func checkRecords(_ bytes: [UInt8], partner: PartnerID) {
    let lines = bytes.split(separator: SettlementFormat.newline, omittingEmptySubsequences: false).dropLast()
    var totals = ControlTotals()
    var fields: RecordParser.Fields = []
    for (offset, line) in lines.enumerated().dropFirst() {
        let parsed = Array(line).withUnsafeBufferPointer {
            RecordParser.parse($0, number: offset + 1, partner: partner, totals: &totals, fields: &fields)
        }
        guard case .record(let record) = parsed else { continue }
        let again = Array(SettlementFile.line(for: record).utf8)
        var scratchTotals = ControlTotals()
        let reparsed = again.withUnsafeBufferPointer {
            RecordParser.parse($0, number: offset + 1, partner: partner, totals: &scratchTotals, fields: &fields)
        }
        guard case .record(let same) = reparsed, same == record else {
            SignedFileFuzzing.fail("record on line \(offset + 1) does not survive its round trip: \(record)")
        }
    }
}
