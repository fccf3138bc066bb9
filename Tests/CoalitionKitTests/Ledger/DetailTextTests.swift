import Testing

@testable import CoalitionKit

@Suite("Posting details written into a byte buffer are the text the plain way makes")
struct DetailTextTests {
    @Test("rates and consumed parts, generated and at their limits, write as their plain text")
    func sameText() throws {
        var random = SeededGenerator(seed: 0xDE7A)
        let issuers = [
            try PartnerID("SKYWAYS"), try PartnerID("HARBOR"), try PartnerID("ABCDEFGHIJKLMNOP"),
        ]
        let edges: [Int64] = [0, 1, -1, 9, 10, Int64.max, Int64.min, 1_000_000_007]
        for index in 0..<2_000 {
            func value() -> Int64 {
                index < edges.count * edges.count
                    ? edges[index % edges.count] : Int64.random(in: .min ... .max, using: &random)
            }
            let denominator = index % 3 == 0 ? 1 : max(1, abs(value() % 1_000_000))
            let rate = try Rate(abs(value() % 1_000_000_000) + 1, denominator)
            var bytes = CanonicalBytes()
            bytes.append(rate)
            #expect(bytes.text == rate.description)

            let part = ConsumedPart(
                lotID: value(),
                issuer: issuers[index % issuers.count],
                earnedAt: Timestamp(seconds: value()),
                expiresAt: Timestamp(seconds: value()),
                points: value(),
                isBonus: index % 2 == 0
            )
            var written = CanonicalBytes()
            part.write(into: &written)
            let plain =
                "\(part.lotID):\(part.issuer):\(part.earnedAt.seconds):\(part.expiresAt.seconds):\(part.points):\(part.isBonus ? 1 : 0)"
            #expect(written.text == plain)
            #expect(
                ConsumedPart(encoded: Substring(plain)).map { $0.lotID == part.lotID && $0.points == part.points }
                    == true
            )
        }
    }

    @Test("integers of every length, and either side of each power of ten, write as String does")
    func integers() {
        var values: [Int64] = [0, Int64.max, Int64.min, Int64.min + 1]
        var power: Int64 = 1
        for _ in 0..<19 {
            values += [power - 1, power, power + 1, -power, -(power - 1), -(power + 1)]
            if power <= Int64.max / 10 { power *= 10 }
        }
        var random = SeededGenerator(seed: 0x1D16)
        for _ in 0..<5_000 {
            // Every magnitude equally often, not mostly 19-digit numbers.
            let digits = Int.random(in: 1...19, using: &random)
            let limit = digits == 19 ? Int64.max : (0..<digits).reduce(Int64(1)) { r, _ in r * 10 }
            let value = Int64.random(in: 0..<limit, using: &random)
            values.append(Bool.random(using: &random) ? value : -value)
        }
        for value in values {
            var bytes = CanonicalBytes()
            bytes.append(value)
            #expect(bytes.text == String(value))
        }
    }
}
