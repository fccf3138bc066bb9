import CoalitionFiles
import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

@Suite("Reconciliation: a partner's view of a cycle matched against the ledger")
struct ReconciliationTests {
    typealias Kind = ReconciliationReport.BreakKind

    /// Generated activity over two closed cycles.
    static func twoCycles(seed: UInt64) throws -> ActivityLedger {
        var a = try ActivityLedger(seed: seed)
        try a.apply(through: Fixtures.time("2026-10-02T00:00:00Z"))
        _ = try a.close(through: "2026-10-01T00:00:00Z", now: "2026-10-02T06:00:00Z")
        try a.apply(through: Fixtures.time("2027-01-01T00:00:00Z"))
        _ = try a.close(through: "2026-11-30T23:59:59Z", now: "2026-12-01T06:00:00Z")
        return a
    }

    static let partners = Fixtures.network.sortedPartners.map(\.id)

    /// The partner's perfect view of `cycle`: its entries in the ledger, by record id.
    func perfectView(_ ledger: Ledger, _ partner: PartnerID, cycle: Int64) throws -> [Reconciliation.Entry] {
        try Reconciliation.ledgerView(ledger, partner: partner).compactMap { id, sides in
            sides.first { $0.cycle == cycle }.map { Reconciliation.Entry(recordID: id, amount: $0.amount) }
        }.sorted { $0.recordID < $1.recordID }
    }

    /// Writes `entries` as `partner`'s signed reconciliation file of `cycle`.
    func write(
        _ entries: [Reconciliation.Entry],
        _ partner: PartnerID,
        cycle: Int64,
        to path: String
    ) throws {
        let createdAt = Fixtures.time("2026-12-02T00:00:00Z")
        let key = try DemoKeys.ring(partner).signingKey(at: createdAt)
        let header = FileHeader(
            kind: .reconciliation,
            partner: partner,
            sequence: cycle,
            createdAt: createdAt,
            keyID: key.info.id
        )
        try Reconciliation.write(entries, header: header, key: key.secret, to: path)
    }

    func reconcile(_ path: String, _ ledger: Ledger) throws -> ReconciliationReport {
        try Reconciliation.reconcile(path: path, ledger: ledger) { try DemoKeys.ring(for: $0) }
    }

    /// Sums per currency, zeros left out.
    func sum(_ parts: [Currency: Int64]...) -> [Currency: Int64] {
        var out: [Currency: Int64] = [:]
        for part in parts { for (currency, amount) in part { out[currency, default: 0] += amount } }
        return out.filter { $0.value != 0 }
    }

    func totals(_ entries: [Reconciliation.Entry]) -> [Currency: Int64] {
        sum(
            Dictionary(grouping: entries, by: \.amount.currency).mapValues {
                $0.reduce(0) { $0 + $1.amount.minorUnits }
            }
        )
    }

    @Test("a partner's perfect view of a closed cycle matches, record for record", arguments: partners)
    func perfect(partner: PartnerID) throws {
        let a = try Self.twoCycles(seed: 23)
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for cycle in [1, 2] as [Int64] {
            let entries = try perfectView(a.ledger, partner, cycle: cycle)
            #expect(entries.count >= 10, "\(partner) has few records in cycle \(cycle)")
            // The view is every obligation the partner is a party to, by the record (or
            // transfer) that made it: plus what it is due, minus what it owes.
            let obligations = try a.store.obligations(cycle: cycle).filter {
                $0.creditor == partner || $0.debtor == partner
            }
            #expect(
                Set(entries.map(\.reference))
                    == Set(
                        obligations.map {
                            $0.source.partner == partner
                                ? $0.source.recordID : "\($0.source.recordID)|\($0.source.partner)"
                        }
                    )
            )
            #expect(
                entries.reduce(0) { $0 + $1.amount.minorUnits }
                    == obligations.reduce(0) { $0 + ($1.creditor == partner ? $1.amount : -$1.amount) }
            )
            let path = directory.file("\(partner)-\(cycle).rec")
            try write(entries, partner, cycle: cycle, to: path)
            let report = try reconcile(path, a.ledger)
            #expect(report.partner == partner && report.cycle == cycle)
            #expect(report.breaks == [])
            #expect(report.matchedRecords == entries.count)
            #expect(report.matchedTotals.filter { $0.value != 0 } == totals(entries))
            #expect(sum(report.unmatchedLedger).isEmpty && sum(report.unmatchedPartner).isEmpty)
        }
    }

    /// A file with breaks planted on purpose, and the breaks it must give.
    struct Planted {
        var entries: [Reconciliation.Entry]
        var expected: Set<Expected>
        var altered = 0

        struct Expected: Hashable {
            let kind: Kind
            let recordID: String
            let line: Int?
        }
    }

    /// Plants `kinds` in the perfect view of cycle 2, at places the seed chooses.
    func plant(_ kinds: [Kind], in a: ActivityLedger, _ partner: PartnerID, seed: UInt64) throws -> Planted {
        var random = SeededGenerator(seed: seed)
        let perfect = try perfectView(a.ledger, partner, cycle: 2)
        let earlier = try perfectView(a.ledger, partner, cycle: 1)
        try #require(perfect.count >= 8 && !earlier.isEmpty)
        var entries = perfect
        // Distinct records of the perfect view for the breaks that change or drop one.
        var chosen = Array(perfect.indices.shuffled(using: &random).prefix(kinds.count))
        var tracked: [(Kind, String)] = []
        var duplicate: Reconciliation.Entry?
        var removed: String?
        var inserted: [Reconciliation.Entry] = []
        var altered = 0
        for kind in kinds {
            switch kind {
            case .amountDiffers:
                let i = chosen.removeFirst()
                let old = entries[i]
                let delta = Int64.random(in: 1...500, using: &random) * (random.chance(50) ? 1 : -1)
                entries[i] = .init(
                    recordID: old.reference,
                    amount: Money(old.amount.minorUnits + delta, old.amount.currency)
                )
                tracked.append((kind, old.reference))
                altered += 1
            case .currencyDiffers:
                let i = chosen.removeFirst()
                let old = entries[i]
                let other = try Currency(code: old.amount.currency.code == "EUR" ? "USD" : "EUR")
                entries[i] = .init(recordID: old.reference, amount: Money(old.amount.minorUnits, other))
                tracked.append((kind, old.reference))
                altered += 1
            case .missingInPartnerFile:
                removed = entries[chosen.removeFirst()].reference
                altered += 1
            case .duplicateInPartnerFile:
                duplicate = entries[chosen.removeFirst()]
            case .missingInLedger:
                let unknown = Reconciliation.Entry(
                    recordID: "NOT-IN-LEDGER-\(seed)",
                    amount: Money(Int64.random(in: 1...9_999, using: &random), perfect[0].amount.currency)
                )
                inserted.append(unknown)
                tracked.append((kind, unknown.recordID))
            case .differentCycle:
                let other = earlier.randomElement(using: &random)!
                inserted.append(other)
                tracked.append((kind, other.reference))
            }
        }
        if let removed { entries.removeAll { $0.reference == removed } }
        for entry in inserted { entries.insert(entry, at: Int.random(in: 0...entries.count, using: &random)) }
        // The copy goes after the original: the second line listing a record is the break.
        if let duplicate {
            let first = entries.firstIndex(of: duplicate)!
            entries.insert(duplicate, at: Int.random(in: (first + 1)...entries.count, using: &random))
        }
        // Line 1 is the header: the entry at index i is on line i + 2.
        var expected: Set<Planted.Expected> = []
        for (kind, id) in tracked {
            let index = entries.firstIndex { $0.reference == id }!
            expected.insert(.init(kind: kind, recordID: id, line: index + 2))
        }
        if let removed { expected.insert(.init(kind: .missingInPartnerFile, recordID: removed, line: nil)) }
        if let duplicate {
            let index = entries.lastIndex(of: duplicate)!
            expected.insert(.init(kind: .duplicateInPartnerFile, recordID: duplicate.reference, line: index + 2))
        }
        return Planted(entries: entries, expected: expected, altered: altered)
    }

    /// Checks the report against what was planted, and that its totals add up.
    func check(_ report: ReconciliationReport, _ planted: Planted, perfect: [Reconciliation.Entry], _ context: String) {
        let found = Set(report.breaks.map { Planted.Expected(kind: $0.kind, recordID: $0.recordID, line: $0.line) })
        #expect(found == planted.expected, "\(context)")
        #expect(report.breaks.count == planted.expected.count, "\(context)")
        // The records matched: the perfect ones less those altered or removed.
        #expect(report.matchedRecords == perfect.count - planted.altered, "\(context)")
        // Matched and unmatched add up to the ledger's side and to the file's side.
        #expect(sum(report.matchedTotals, report.unmatchedLedger) == totals(perfect), "\(context)")
        #expect(sum(report.matchedTotals, report.unmatchedPartner) == totals(planted.entries), "\(context)")
    }

    @Test("each kind of break alone is reported with its record and line", arguments: Kind.allCases)
    func single(kind: Kind) throws {
        let a = try Self.twoCycles(seed: 29)
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for (index, partner) in Self.partners.enumerated() {
            let planted = try plant([kind], in: a, partner, seed: UInt64(index) * 31 + 7)
            #expect(planted.expected.count == 1)
            let path = directory.file("\(partner).rec")
            try write(planted.entries, partner, cycle: 2, to: path)
            let report = try reconcile(path, a.ledger)
            check(report, planted, perfect: try perfectView(a.ledger, partner, cycle: 2), "\(partner) \(kind)")
            let only = try #require(report.breaks.first)
            switch kind {
            case .differentCycle:
                #expect(only.ledgerCycle == 1)
                #expect(only.partnerAmount == only.ledgerAmount)
            case .missingInLedger:
                #expect(only.ledgerAmount == nil && only.ledgerCycle == nil)
            case .missingInPartnerFile:
                #expect(only.partnerAmount == nil && only.ledgerCycle == 2)
            case .amountDiffers:
                #expect(only.ledgerAmount?.currency == only.partnerAmount?.currency)
                #expect(only.ledgerAmount != only.partnerAmount)
            case .currencyDiffers:
                #expect(only.ledgerAmount?.minorUnits == only.partnerAmount?.minorUnits)
                #expect(only.ledgerAmount?.currency != only.partnerAmount?.currency)
            case .duplicateInPartnerFile:
                #expect(only.partnerAmount != nil)
            }
        }
    }

    @Test("one of each break in one file: each reported with its record and line", arguments: [3, 5, 8] as [UInt64])
    func allAtOnce(seed: UInt64) throws {
        let a = try Self.twoCycles(seed: seed)
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for partner in Self.partners {
            let planted = try plant(Kind.allCases, in: a, partner, seed: seed)
            #expect(planted.expected.count == Kind.allCases.count)
            #expect(Set(planted.expected.map(\.kind)) == Set(Kind.allCases))
            let path = directory.file("\(partner).rec")
            try write(planted.entries, partner, cycle: 2, to: path)
            let report = try reconcile(path, a.ledger)
            check(report, planted, perfect: try perfectView(a.ledger, partner, cycle: 2), "\(partner) seed \(seed)")
        }
    }

    @Test("a reconciliation file with a bad signature, wrong trailer or unclosed cycle is rejected whole")
    func rejected() throws {
        let a = try Self.twoCycles(seed: 23)
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let partner = Fixtures.marketplace
        let entries = try perfectView(a.ledger, partner, cycle: 1)
        let path = directory.file("good.rec")
        try write(entries, partner, cycle: 1, to: path)
        #expect(try reconcile(path, a.ledger).breaks.isEmpty)
        let bytes = [UInt8](try #require(FileManager.default.contents(atPath: path)))

        // A digit of an amount changed.
        var tampered = bytes
        let headerEnd = try #require(tampered.firstIndex(of: 10))
        let digit = try #require(tampered.indices.first { i in i > headerEnd && (48...56).contains(tampered[i]) })
        tampered[digit] += 1
        let bad = directory.file("tampered.rec")
        try Data(tampered).write(to: URL(fileURLWithPath: bad))
        expectError(.badSignature) { try reconcile(bad, a.ledger) }

        // Signed under another partner's key that claims to be the partner's.
        let forged = directory.file("forged.rec")
        let other = try DemoKeys.ring(Fixtures.harbor).signingKey(at: Fixtures.time("2026-12-02T00:00:00Z"))
        let mine = try DemoKeys.ring(partner).signingKey(at: Fixtures.time("2026-12-02T00:00:00Z"))
        let header = FileHeader(
            kind: .reconciliation,
            partner: partner,
            sequence: 1,
            createdAt: Fixtures.time("2026-12-02T00:00:00Z"),
            keyID: mine.info.id
        )
        try Reconciliation.write(entries, header: header, key: other.secret, to: forged)
        expectError(.badSignature) { try reconcile(forged, a.ledger) }

        // Signed properly, but the trailer does not add up.
        let total = entries.reduce(0) { $0 + $1.amount.minorUnits }
        func signedByHand(_ trailer: String, sequence: Int64 = 1) throws -> String {
            let file = directory.file("hand-\(UUID().uuidString).rec")
            var h = header
            h.sequence = sequence
            var text = h.line + "\n"
            for e in entries {
                text += "E|\(e.recordID)|\(e.amount.currency.code)|\(e.amount.minorUnits)"
                text += (e.source.map { "|\($0)" } ?? "") + "\n"
            }
            text += trailer + "\n"
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            _ = try FileSigning.sign(path: file, key: mine.secret)
            return file
        }
        #expect(try reconcile(try signedByHand("T|\(entries.count)|\(total)"), a.ledger).breaks.isEmpty)
        expectError(.trailerTotalMismatch) {
            try reconcile(try signedByHand("T|\(entries.count)|\(total + 1)"), a.ledger)
        }
        expectError(.trailerCountMismatch) {
            try reconcile(try signedByHand("T|\(entries.count + 1)|\(total)"), a.ledger)
        }
        expectError(.missingTrailer) { try reconcile(try signedByHand("E|EXTRA-1|EUR|0"), a.ledger) }
        // A cycle that is not closed.
        expectError(.badHeader) {
            try reconcile(try signedByHand("T|\(entries.count)|\(total)", sequence: 3), a.ledger)
        }
    }
}
