import Testing

@testable import CoalitionKit

@Suite("RecordParser: a line's fields, split into a reused array")
struct FieldSplitTests {
    @Test("generated lines split as the standard library splits them, empty fields kept")
    func sameAsSplit() {
        var random = SeededGenerator(seed: 0x5917)
        var fields: RecordParser.Fields = []
        let alphabet: [UInt8] = Array("|||ab1 é".utf8)
        for index in 0..<3_000 {
            let count = index < 10 ? index : Int.random(in: 0...80, using: &random)
            let line = (0..<count).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &random)] }
            line.withUnsafeBufferPointer { buffer in
                RecordParser.split(buffer, into: &fields)
                let expected = buffer.split(separator: SettlementFormat.separator, omittingEmptySubsequences: false)
                #expect(fields.map(Array.init) == expected.map(Array.init), "line \(index)")
                #expect(fields.map(\.startIndex) == expected.map(\.startIndex))
            }
        }
    }
}
