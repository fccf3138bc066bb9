import CoalitionKit
import Testing

@testable import CoalitionServer

/// What a parser made of some bytes fed in pieces of one size: compared across sizes.
private struct Outcome: Equatable {
    var body: [UInt8] = []
    var fault: String?
    var isComplete = false
}

private func decodeChunked(_ bytes: [UInt8], piece: Int) -> Outcome {
    var decoder = HTTPChunkedDecoder()
    var outcome = Outcome()
    var start = 0
    while start < bytes.count && !decoder.isComplete {
        let end = min(bytes.count, start + piece)
        do {
            _ = try decoder.decode(bytes[start..<end]) { outcome.body += $0 }
        } catch {
            outcome.fault = (error as? CoalitionError)?.code.rawValue ?? "\(type(of: error))"
            break
        }
        start = end
    }
    outcome.isComplete = decoder.isComplete
    return outcome
}

private func parseHead(_ bytes: [UInt8], piece: Int) -> String {
    var parser = HTTPHeadParser()
    var start = 0
    while start < bytes.count {
        let end = min(bytes.count, start + piece)
        do {
            if case .complete(let head, let consumed) = try parser.parse(bytes[start..<end]) {
                let fields = head.headers.fields.map { "\($0.name)=\($0.value)" }.joined(separator: ",")
                return "\(head.method) \(head.target) 1.\(head.minorVersion) [\(fields)] at \(start + consumed)"
            }
        } catch {
            return "fault \(error.code)"
        }
        start = end
    }
    return "need more"
}

/// The fuzz target `FuzzHTTPRequest`'s first invariant in the normal suite: the outcome of
/// the head parser and the chunked decoder does not depend on how the bytes arrive, for
/// valid and broken inputs alike (docs/reliability.md, "Fuzzing").
@Suite("HTTP parsing: the same outcome whatever pieces the bytes arrive in")
struct HTTPPieceInvarianceTests {
    /// Inputs the fuzzer met: a chunk whose data runs on into text where its CRLF belongs.
    static let found: [[UInt8]] = [
        Array("5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwConnection: closev\r\n\r\nNEXT".utf8)
    ]

    static let valid: [String] = [
        "5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer: v\r\n\r\nNEXT",
        "0\r\n\r\n",
        "3 ; a = \"q\\\"\"\r\nabc\r\n0\r\n\r\n",
    ]

    @Test("a broken chunked body met by the fuzzer: the same body bytes and fault at every piece size")
    func foundByTheFuzzer() {
        for input in Self.found {
            let whole = decodeChunked(input, piece: input.count)
            #expect(whole.fault == "BAD_CHUNK")
            #expect(whole.body == Array("helloabcdefghijklmnopqrstuvwCon".utf8))
            for piece in 1...64 { #expect(decodeChunked(input, piece: piece) == whole, "pieces of \(piece)") }
        }
    }

    @Test(arguments: 0..<200)
    func mutatedChunkedBodies(seed: Int) {
        var random = SeededGenerator(seed: UInt64(seed) + 91_000)
        var bytes = Array(Self.valid.randomElement(using: &random)!.utf8)
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let index = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<3, using: &random) {
            case 0: bytes[index] = UInt8.random(in: 0...255, using: &random)
            case 1: bytes.remove(at: index)
            default: bytes.insert(Array("\r\n;=\"0aF ".utf8).randomElement(using: &random)!, at: index)
            }
            if bytes.isEmpty { bytes = [0x30] }
        }
        let whole = decodeChunked(bytes, piece: bytes.count)
        let piece = Int.random(in: 1...16, using: &random)
        #expect(decodeChunked(bytes, piece: piece) == whole, "seed \(seed), pieces of \(piece)")
    }

    @Test(arguments: 0..<200)
    func mutatedHeads(seed: Int) {
        var random = SeededGenerator(seed: UInt64(seed) + 92_000)
        var bytes = Array(
            "\r\nPOST /v1/records?x=1 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nA:\t v \r\n\r\nbody".utf8
        )
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let index = Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<3, using: &random) {
            case 0: bytes[index] = UInt8.random(in: 0...255, using: &random)
            case 1: bytes.remove(at: index)
            default: bytes.insert(Array("\r\n: /\t".utf8).randomElement(using: &random)!, at: index)
            }
        }
        let whole = parseHead(bytes, piece: bytes.count)
        let piece = Int.random(in: 1...16, using: &random)
        #expect(parseHead(bytes, piece: piece) == whole, "seed \(seed), pieces of \(piece)")
    }
}
