import Testing

@testable import CoalitionKit

@Suite("PartnerMap: a sorted map of partner ids that answers as a dictionary does")
struct PartnerMapTests {
    @Test("generated inserts, changes and removals leave it equal to a dictionary at every step")
    func againstADictionary() throws {
        var random = SeededGenerator(seed: 0x9A27)
        // Ids that share their first eight bytes, and ones that differ only there.
        var ids: [PartnerID] = []
        for index in 0..<40 {
            ids.append(try PartnerID("P\(index)"))
            ids.append(try PartnerID("LONGPARTNER\(index)"))
            ids.append(try PartnerID("AIR-\(index)-X"))
        }
        var map = PartnerMap<Int>()
        var reference: [PartnerID: Int] = [:]
        for step in 0..<6_000 {
            let id = ids[Int.random(in: 0..<ids.count, using: &random)]
            let value: Int? = random.chance(25) ? nil : step
            map[id] = value
            reference[id] = value
            let probe = ids[Int.random(in: 0..<ids.count, using: &random)]
            #expect(map[probe] == reference[probe], "step \(step)")
            #expect(map.count == reference.count)
        }
        for id in ids { #expect(map[id] == reference[id]) }
        let built = PartnerMap(reference.map { ($0.key, $0.value) })
        for id in ids { #expect(built[id] == reference[id]) }
    }
}
