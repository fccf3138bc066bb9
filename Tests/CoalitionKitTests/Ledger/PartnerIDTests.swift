import Testing

@testable import CoalitionKit

@Suite("PartnerID: packed into two words, it is still its text")
struct PartnerIDTests {
    /// Ids of every length, from the characters an id may hold.
    func generated(count: Int, seed: UInt64) -> [String] {
        let letters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        let rest = letters + Array("0123456789-")
        var random = SeededGenerator(seed: seed)
        return (0..<count).map { index in
            let length = 2 + index % 15
            return String(letters.randomElement(using: &random)!)
                + String((1..<length).map { _ in rest.randomElement(using: &random)! })
        }
    }

    @Test("an id gives back its text, compares as its text does, and is equal only to itself")
    func text() throws {
        let texts = generated(count: 600, seed: 7) + ["AB", "ABCDEFGHIJKLMNOP", "ABCDEFGH", "ABCDEFGHI", "A-", "Z9"]
        let ids = try texts.map { try PartnerID($0) }
        for (text, id) in zip(texts, ids) {
            #expect(id.rawValue == text)
            #expect(id.description == text)
            #expect(try PartnerID(stored: text) == id)
            #expect(id.withUTF8 { Array($0) } == Array(text.utf8))
        }
        for _ in 0..<2_000 {
            let a = Int.random(in: 0..<ids.count)
            let b = Int.random(in: 0..<ids.count)
            #expect((ids[a] < ids[b]) == (texts[a] < texts[b]), "\(texts[a]) \(texts[b])")
            #expect((ids[a] == ids[b]) == (texts[a] == texts[b]), "\(texts[a]) \(texts[b])")
        }
        // A prefix sorts first, as in text.
        #expect(try PartnerID("ABC") < PartnerID("ABCD"))
        #expect(try PartnerID("ABCDEFGH") < PartnerID("ABCDEFGHA"))
        #expect(PartnerID.transfers.rawValue == "~TRANSFER")
        #expect(try PartnerID(stored: "~TRANSFER") == .transfers)
    }

    @Test("ids the format does not allow are refused, whatever their length")
    func refused() {
        for text in ["", "A", "ABCDEFGHIJKLMNOPQ", "1ABC", "abc", "AB C", "-AB", "ÄBC", "AB\u{0}C"] {
            #expect(throws: CoalitionError.self, "\(text)") { try PartnerID(text) }
        }
    }

    @Test("lots and the parts of lots a redemption consumed are plain values: copied without reference counting")
    func plain() {
        #expect(_isPOD(PartnerID.self))
        #expect(_isPOD(Lot.self))
        #expect(_isPOD(ConsumedPart.self))
    }
}
