// libFuzzer entry point: the readers a partner runs on the coalition's answers
// (`coalition verify`: acknowledgements and statements). Built only by `.ci/fuzz`.
import Foundation
import FuzzSupport

@testable import CoalitionFiles
@testable import CoalitionKit

/// One input: a first byte that picks how the rest is taken (even: the whole file; odd: an
/// unsigned body signed here with the test key), then the bytes.
///
/// Invariants (a failure traps):
/// - a file the verifier accepts is signed: its last line is the HMAC-SHA256 under the key of
///   every byte before it, computed here in one piece;
/// - its kind is one of those asked for, so a partner's own settlement file never passes as
///   the coalition's answer; its header parses back from its canonical line to itself;
/// - `FileHeader(line:)` on the first line never traps, and agrees with the verifier;
/// - nothing traps, whatever the bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSignedAnswer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    var bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if data[0] & 1 == 1 { bytes += SignedFileFuzzing.signatureLine(for: bytes) }
    let kinds: Set<FileKind> = [.acknowledgement, .statement]
    let firstLine = bytes.prefix { $0 != SettlementFormat.newline }
    let parsedHeader = try? FileHeader(line: ArraySlice(firstLine), expecting: kinds)
    let path = SignedFileFuzzing.write(bytes)
    guard let header = try? FileSigning.verify(path: path, kinds: kinds, key: SignedFileFuzzing.key) else { return 0 }
    SignedFileFuzzing.checkSigned(bytes)
    guard kinds.contains(header.kind), header.kind != .settlement else {
        SignedFileFuzzing.fail("a \(header.kind) file passed as an acknowledgement or statement")
    }
    guard parsedHeader == header else { SignedFileFuzzing.fail("the verifier and FileHeader(line:) disagree") }
    SignedFileFuzzing.checkHeaderRoundTrip(header, kinds: kinds)
    return 0
}
