// libFuzzer entry point: the HTTP/1.1 request head parser and the chunked body decoder, the
// bytes every client of `coalition serve` controls. Built only by `.ci/fuzz`.
import CoalitionKit
import Foundation

@testable import CoalitionServer

/// One input: a first byte that sets the size of the pieces the bytes arrive in (1 to 64, as
/// a socket may deliver them), then the bytes: a request head, then a chunked body.
///
/// Invariants (a failure traps):
/// - the head parser gives the same outcome (the same head and bytes consumed, or the same
///   fault code) whether the bytes arrive whole or in pieces;
/// - a parsed head written out again canonically parses to the same head, consuming exactly
///   what was written; its framing (`HTTPRequestFrame`) is decided without a trap;
/// - the chunked decoder gives the same body bytes, completion and fault code whole or in
///   pieces; a decoded body encoded again as one chunk decodes to the same bytes;
/// - nothing traps, whatever the bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let piece = Int(data[0] % 64) + 1
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let limits = HTTPHeadLimits(requestLine: 512, headerBytes: 2048, headerFields: 16)
    let whole = HeadOutcome(bytes, piece: bytes.count + 1, limits: limits)
    let pieces = HeadOutcome(bytes, piece: piece, limits: limits)
    guard whole == pieces else { fail("head parsed whole (\(whole)) and in pieces of \(piece) (\(pieces)) differ") }
    guard case .head(let head, let consumed) = whole else { return 0 }
    let written = canonical(head)
    // Room for what canonical form adds (a space after each colon), not a looser grammar.
    let roomy = HTTPHeadLimits(requestLine: 1024, headerBytes: 8192, headerFields: 16)
    guard case .head(let again, let count) = HeadOutcome(written, piece: written.count + 1, limits: roomy),
        again == head, count == written.count
    else { fail("head \(head) does not survive its round trip") }
    _ = try? HTTPRequestFrame(head: head.parsed)
    let body = Array(bytes[consumed...])
    let decodedWhole = BodyOutcome(body, piece: body.count + 1, limits: limits)
    let decodedPieces = BodyOutcome(body, piece: piece, limits: limits)
    guard decodedWhole == decodedPieces else { fail("chunked body decoded whole and in pieces differ") }
    if decodedWhole.isComplete {
        var chunk = Array(String(decodedWhole.body.count, radix: 16).utf8) + [13, 10] + decodedWhole.body + [13, 10]
        if decodedWhole.body.isEmpty { chunk = [] }
        chunk += Array("0\r\n\r\n".utf8)
        let again = BodyOutcome(chunk, piece: chunk.count + 1, limits: limits)
        guard again.isComplete, again.body == decodedWhole.body, again.fault == nil else {
            fail("a decoded body encoded again as one chunk does not decode to the same bytes")
        }
    }
    return 0
}

/// A head as compared: method, target, version and the fields in order.
struct Head: Equatable, CustomStringConvertible {
    let parsed: HTTPParsedHead

    static func == (a: Head, b: Head) -> Bool {
        a.parsed.method == b.parsed.method && a.parsed.target == b.parsed.target
            && a.parsed.minorVersion == b.parsed.minorVersion
            && a.parsed.headers.fields.map { [$0.name, $0.value] }
                == b.parsed.headers.fields.map { [$0.name, $0.value] }
    }

    var description: String { "\(parsed.method) \(parsed.target) HTTP/1.\(parsed.minorVersion)" }
}

/// What the head parser made of some bytes.
enum HeadOutcome: Equatable {
    case head(Head, consumed: Int)
    case needMore
    case fault(String)

    init(_ bytes: [UInt8], piece: Int, limits: HTTPHeadLimits) {
        var parser = HTTPHeadParser(limits: limits)
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + piece)
            do {
                if case .complete(let head, let consumed) = try parser.parse(bytes[start..<end]) {
                    self = .head(Head(parsed: head), consumed: start + consumed)
                    return
                }
            } catch {
                self = .fault(error.code.rawValue)
                return
            }
            start = end
        }
        self = .needMore
    }
}

/// What the chunked decoder made of some bytes.
struct BodyOutcome: Equatable {
    var body: [UInt8] = []
    var isComplete = false
    var fault: String?
    var consumed = 0

    init(_ bytes: [UInt8], piece: Int, limits: HTTPHeadLimits) {
        var decoder = HTTPChunkedDecoder(limits: limits)
        var start = 0
        var collected: [UInt8] = []
        while start < bytes.count && !decoder.isComplete {
            let end = min(bytes.count, start + piece)
            do {
                consumed += try decoder.decode(bytes[start..<end]) { collected += $0 }
            } catch let error as CoalitionError {
                // Where a fault stops the input is not compared: a call that throws reports
                // no count, so the bytes taken before it differ with the piece size.
                fault = error.code.rawValue
                consumed = 0
                break
            } catch {
                fail("the chunked decoder threw \(type(of: error)), not a CoalitionError")
            }
            start = end
        }
        body = collected
        isComplete = decoder.isComplete
    }
}

/// `method SP target SP HTTP/1.x CRLF`, `name: value CRLF` each, `CRLF`.
func canonical(_ head: Head) -> [UInt8] {
    var text = "\(head.parsed.method) \(head.parsed.target) HTTP/1.\(head.parsed.minorVersion)\r\n"
    for field in head.parsed.headers.fields { text += "\(field.name): \(field.value)\r\n" }
    return Array((text + "\r\n").utf8)
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("invariant broken: \(message)\n".utf8))
    abort()
}
