import CoalitionFiles
import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

@Suite("Statements: signed for one partner, and saying what the cycle cleared for it")
struct StatementTests {
    /// Two months of generated activity, and a cycle closed through the middle of it.
    static func closedCycle(seed: UInt64 = 17) throws -> (ActivityLedger, ClearingCycle) {
        var a = try ActivityLedger(seed: seed)
        try a.apply(through: Fixtures.time("2026-10-12T00:00:00Z"))
        let cycle = try a.close(through: "2026-10-10T23:59:59Z", now: "2026-10-13T06:00:00Z")
        return (a, cycle)
    }

    static let partners = Fixtures.network.sortedPartners.map(\.id)

    /// Every key of every partner but `partner`.
    func otherKeys(than partner: PartnerID) throws -> [(PartnerID, KeyRing.Key)] {
        try Self.partners.filter { $0 != partner }.flatMap { other in try DemoKeys.ring(other).keys.map { (other, $0) }
        }
    }

    @Test("a statement verifies under its partner's key only", arguments: partners)
    func signature(partner: PartnerID) throws {
        let (_, cycle) = try Self.closedCycle()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file(Statement.fileName(for: partner, cycle: cycle.number))
        let ring = try DemoKeys.ring(partner)
        try Statement.write(for: partner, cycle: cycle, ring: ring, to: path)
        #expect(path.hasSuffix("\(partner)-cycle-000001.stmt"))
        let key = try ring.signingKey(at: cycle.closedAt)
        let header = try FileSigning.verify(path: path, kinds: [.statement], key: key.secret)
        #expect(header.kind == .statement)
        #expect(header.partner == partner)
        #expect(header.sequence == cycle.number)
        #expect(header.createdAt == cycle.closedAt)
        #expect(header.keyID == key.info.id)
        let others = try otherKeys(than: partner)
        #expect(others.count >= 3)
        for (other, otherKey) in others {
            let error = expectError(.badSignature) {
                try FileSigning.verify(path: path, kinds: [.statement], key: otherKey.secret)
            }
            #expect(error != nil, "\(partner)'s statement verified under \(other)'s key \(otherKey.info.id)")
        }
        // A statement is not a file of another kind, even under the right key.
        expectError(.wrongDirection) { try FileSigning.verify(path: path, kinds: [.reconciliation], key: key.secret) }
        // No temporary file is left beside it.
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.path) == [
                Statement.fileName(for: partner, cycle: cycle.number)
            ]
        )
    }

    @Test("changing any single byte of a statement makes it fail verification", arguments: partners)
    func everyByte(partner: PartnerID) throws {
        let (_, cycle) = try Self.closedCycle()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("statement.stmt")
        let ring = try DemoKeys.ring(partner)
        try Statement.write(for: partner, cycle: cycle, ring: ring, to: path)
        let key = try ring.signingKey(at: cycle.closedAt).secret
        let original = [UInt8](try #require(FileManager.default.contents(atPath: path)))
        #expect(original.count > 200)
        let tampered = directory.file("tampered.stmt")
        var random = SeededGenerator(seed: UInt64(original.count))
        var codes: [ReasonCode: Int] = [:]
        for index in original.indices {
            // One bit flipped, and one byte replaced by any other value.
            let replacement = UInt8.random(in: 0...254, using: &random)
            for value in [original[index] ^ 0x01, replacement >= original[index] ? replacement + 1 : replacement] {
                var bytes = original
                bytes[index] = value
                try Data(bytes).write(to: URL(fileURLWithPath: tampered))
                do {
                    _ = try FileSigning.verify(path: tampered, kinds: [.statement], key: key)
                    Issue.record("byte \(index) changed from \(original[index]) to \(value) still verifies")
                } catch let error as CoalitionError {
                    codes[error.code, default: 0] += 1
                }
            }
        }
        #expect(codes.values.reduce(0, +) == 2 * original.count)
        #expect(codes[.badSignature, default: 0] > original.count)
        // The original still verifies: the failures were the changes'.
        #expect(throws: Never.self) { try FileSigning.verify(path: path, kinds: [.statement], key: key) }
    }

    @Test("G, N, P and B lines say what the cycle cleared for the partner", arguments: partners)
    func lines(partner: PartnerID) throws {
        let (_, cycle) = try Self.closedCycle()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("statement.stmt")
        try Statement.write(for: partner, cycle: cycle, ring: try DemoKeys.ring(partner), to: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.split(separator: "|").map(String.init)
        }
        #expect(text.hasSuffix("\n"))
        #expect(lines.last == [])
        let body = lines.dropLast()
        #expect(body.first?.prefix(6) == ["H", "COALITION-STATEMENT", "1", "C2P", partner.rawValue, "1"])
        #expect(body.dropFirst().first == ["CYCLE", "1", cycle.through.description, String(cycle.obligationCount)])
        #expect(body.last?.first == "S")
        func rows(_ kind: String) -> [[String]] { body.filter { $0.first == kind }.map { Array($0.dropFirst()) } }
        let me = Participant.partner(partner)
        var expectedN: [[String]] = []
        var expectedG: [[String]] = []
        var expectedP: [[String]] = []
        for clearing in cycle.clearings {
            let code = clearing.currency.code
            var counterparties = Set(clearing.gross[partner]?.keys.map { $0 } ?? [])
            for (debtor, row) in clearing.gross where row[partner] != nil { counterparties.insert(debtor) }
            for other in counterparties.sorted() {
                let owed = clearing.gross[partner]?[other] ?? 0
                let due = clearing.gross[other]?[partner] ?? 0
                expectedG.append([code, other.rawValue, String(owed), String(due), String(due - owed)])
            }
            let owed = clearing.grossOwed[partner] ?? 0
            let due = clearing.grossDue[partner] ?? 0
            let fee = clearing.fees[partner] ?? 0
            let net = clearing.net[me] ?? 0
            guard owed != 0 || due != 0 || net != 0 else { continue }
            // The net is what it is due less what it owes and its fee.
            #expect(net == due - owed - fee, "\(partner) \(code)")
            expectedN.append([code, String(owed), String(due), String(fee), String(net)])
            for (form, list) in [("CCP", clearing.centralCounterparty), ("DIRECT", clearing.fewestPayments)] {
                for payment in list where payment.payer == me || payment.payee == me {
                    let pays = payment.payer == me
                    let other = pays ? payment.payee : payment.payer
                    expectedP.append([
                        code, form, pays ? "PAY" : "RECEIVE", other.description, String(payment.amount),
                    ])
                }
            }
        }
        #expect(!expectedN.isEmpty, "\(partner) has nothing in cycle 1: the test would prove little")
        #expect(rows("N") == expectedN)
        #expect(rows("G") == expectedG)
        #expect(rows("P") == expectedP)
        // The N lines are the clearing's, currency by currency, and the G lines add up to them.
        for n in rows("N") {
            let clearing = try #require(cycle.clearings.first { $0.currency.code == n[0] })
            #expect(Int64(n[4]) == clearing.net[me] ?? 0)
            let g = rows("G").filter { $0[0] == n[0] }
            #expect(String(g.reduce(Int64(0)) { $0 + Int64($1[2])! }) == n[1])
            #expect(String(g.reduce(Int64(0)) { $0 + Int64($1[3])! }) == n[2])
        }
        // What it pays and receives in each form adds up to its net.
        for clearing in cycle.clearings {
            for form in ["CCP", "DIRECT"] {
                let sum = rows("P").filter { $0[0] == clearing.currency.code && $0[1] == form }.reduce(Int64(0)) {
                    $0 + ($1[2] == "PAY" ? -1 : 1) * Int64($1[4])!
                }
                #expect(sum == clearing.net[me] ?? 0, "\(partner) \(clearing.currency) \(form)")
            }
        }
        let batches = cycle.batches.filter { $0.partner == partner || $0.counterparties.contains(partner) }
        #expect(!batches.isEmpty)
        #expect(rows("B") == batches.map { [$0.partner.rawValue, String($0.sequence)] })
        // O and D lines (StatementExplanationTests) are counted at the trailer's end.
        let counts = [rows("G"), rows("N"), rows("P"), rows("B"), rows("O"), rows("D")].map(\.count)
        #expect(rows("T") == [counts.map(String.init)])
        #expect(body.count == 2 + counts.reduce(0, +) + 2)
    }

    @Test("the statements of an empty cycle say so, and verify")
    func emptyCycle() throws {
        let t = try TestLedger()
        let result = try CycleCloser.close(
            t.ledger,
            through: Fixtures.time("2026-01-31T23:59:59Z"),
            now: Fixtures.time("2026-02-01T00:00:00Z")
        )
        let cycle = try #require(result.closedCycle)
        #expect(cycle.clearings.isEmpty && cycle.obligationCount == 0 && cycle.batches.isEmpty)
        try expectBooksAfterClose(t.ledger)
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for partner in Self.partners {
            let path = directory.file(Statement.fileName(for: partner, cycle: 1))
            let ring = try DemoKeys.ring(partner)
            try Statement.write(for: partner, cycle: cycle, ring: ring, to: path)
            let key = try ring.signingKey(at: cycle.closedAt)
            #expect(try FileSigning.verify(path: path, kinds: [.statement], key: key.secret).partner == partner)
            let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 4)
            #expect(lines.dropFirst().first == "CYCLE|1|2026-01-31T23:59:59Z|0")
            #expect(lines.dropFirst(2).first == "T|0|0|0|0|0|0")
        }
    }
}
