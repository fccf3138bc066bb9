import CoalitionKit
import CoalitionTestSupport
import Testing

@Suite("Statements: the obligations behind the gross figures, and whose fee a payment settles")
struct StatementExplanationTests {
    @Test(
        "O lines add up to every G line, D lines to every fee and every DIRECT payment to the clearing house",
        arguments: [5, 6] as [UInt64]
    )
    func explained(seed: UInt64) throws {
        let (t, cycle) = try ReconciliationCoverageTests().activity(seed: seed)
        let obligations = try t.store.obligations(cycle: cycle.number)
        var feesSettled: [String: Int64] = [:]
        var feesCharged: [String: Int64] = [:]
        for partner in Fixtures.network.sortedPartners.map(\.id) {
            let lines = Statement.lines(for: partner, cycle: cycle, keyID: "K", obligations: obligations)
            let fields = lines.map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
            // Per currency and counterparty: what the O lines say the partner owes and is due.
            var owes: [String: Int64] = [:]
            var due: [String: Int64] = [:]
            for f in fields where f[0] == "O" {
                let amount = Int64(f[7])!
                if f[2] == partner.rawValue { owes["\(f[1]) \(f[3])", default: 0] += amount }
                if f[3] == partner.rawValue { due["\(f[1]) \(f[2])", default: 0] += amount }
            }
            let gLines = fields.filter { $0[0] == "G" }
            #expect(!gLines.isEmpty)
            for f in gLines {
                #expect(owes["\(f[1]) \(f[2])", default: 0] == Int64(f[3])!, "\(partner): \(f)")
                #expect(due["\(f[1]) \(f[2])", default: 0] == Int64(f[4])!, "\(partner): \(f)")
            }
            // Every DIRECT payment of the partner to the clearing house is explained in full.
            for f in fields where f[0] == "P" && f[2] == "DIRECT" && f[3] == "PAY" && f[4] == "COALITION" {
                let explained = fields.filter { $0[0] == "D" && $0[1] == f[1] && $0[2] == partner.rawValue }
                    .reduce(0) { $0 + Int64($1[3])! }
                #expect(explained == Int64(f[5])!, "\(partner): \(f)")
            }
            for f in fields where f[0] == "D" && f[4] == partner.rawValue {
                feesSettled["\(f[1]) \(partner)", default: 0] += Int64(f[3])!
            }
            for f in fields where f[0] == "N" && Int64(f[4])! != 0 { feesCharged["\(f[1]) \(partner)"] = Int64(f[4])! }
            let trailer = try #require(fields.last)
            #expect(trailer[5] == String(fields.filter { $0[0] == "O" }.count))
            #expect(trailer[6] == String(fields.filter { $0[0] == "D" }.count))
        }
        #expect(!feesCharged.isEmpty)
        #expect(feesSettled == feesCharged)
    }
}
