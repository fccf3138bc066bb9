/// A partner's own view of a cycle, matched against the ledger.
///
/// The partner sends a signed `COALITION-RECONCILIATION` file (partner → coalition) whose
/// header's sequence is the cycle number, listing every obligation it is due or owes in that
/// cycle, summed per record (or operator action) that made it:
///
/// ```
/// H|COALITION-RECONCILIATION|1|P2C|<partner>|<cycle>|<created-at>|<key id>
/// E|<record id>|<currency>|<amount in minor units: plus due, minus owed>[|<source>]
/// T|<E lines>|<sum of the amounts>
/// S|<signature>
/// ```
/// `source` names who made the obligation when it is not the partner's own record: another
/// partner (its record id) or `~TRANSFER` (a transfer's id).
/// Matching is by record id through dictionaries: time proportional to the records.
package struct ReconciliationReport: Sendable {
    package enum BreakKind: String, Sendable, CaseIterable {
        /// The ledger has the record in the cycle; the partner's file does not.
        case missingInPartnerFile = "MISSING_IN_PARTNER_FILE"
        /// The partner's file has the record; the ledger has no obligation for it.
        case missingInLedger = "MISSING_IN_LEDGER"
        case amountDiffers = "AMOUNT_DIFFERS"
        case currencyDiffers = "CURRENCY_DIFFERS"
        /// The ledger has the record in another cycle, or not in a cycle yet.
        case differentCycle = "DIFFERENT_CYCLE"
        /// The partner's file lists the record twice.
        case duplicateInPartnerFile = "DUPLICATE_IN_PARTNER_FILE"
    }

    package struct Break: Hashable, Sendable {
        package let kind: BreakKind
        package let recordID: String
        /// The partner file's line, when the break is about one.
        package let line: Int?
        package let ledgerAmount: Money?
        package let ledgerCycle: Int64?
        package let partnerAmount: Money?
    }

    package let partner: PartnerID
    package let cycle: Int64
    package var matchedRecords = 0
    /// Matched amounts per currency (minor units).
    package var matchedTotals: [Currency: Int64] = [:]
    package var breaks: [Break] = []
    /// Amounts of the records that did not match, per side and currency.
    package var unmatchedLedger: [Currency: Int64] = [:]
    package var unmatchedPartner: [Currency: Int64] = [:]

    /// Records a break and adds its amounts to the unmatched sums: the partner's side always,
    /// the ledger's side when the ledger has it in this cycle (a record the ledger has in
    /// another cycle is that cycle's to match).
    mutating func addBreak(
        _ kind: BreakKind,
        recordID: String,
        line: Int?,
        ledger: (amount: Money, cycle: Int64?)?,
        partner: Money?
    ) {
        breaks.append(
            Break(
                kind: kind,
                recordID: recordID,
                line: line,
                ledgerAmount: ledger?.amount,
                ledgerCycle: ledger?.cycle,
                partnerAmount: partner
            )
        )
        if let partner { unmatchedPartner[partner.currency, default: 0] += partner.minorUnits }
        if let ledger, ledger.cycle == cycle {
            unmatchedLedger[ledger.amount.currency, default: 0] += ledger.amount.minorUnits
        }
    }
}

package enum Reconciliation {
    /// One line of a reconciliation file.
    package struct Entry: Hashable, Sendable {
        package let recordID: String
        /// Who made the obligations, when not the partner itself: another partner, or
        /// `~TRANSFER`.
        package let source: PartnerID?
        package let amount: Money

        package init(recordID: String, source: PartnerID?, amount: Money) {
            self.recordID = recordID
            self.source = source
            self.amount = amount
        }

        /// An entry for `reference` as `ledgerView` keys it: `<record id>` for the partner's
        /// own record, `<record id>|<source>` for another's (`|` is never in a record id).
        package init(recordID reference: String, amount: Money) {
            if let bar = reference.firstIndex(of: "|"),
                let source = Reconciliation.source(String(reference[reference.index(after: bar)...]))
            {
                self.init(recordID: String(reference[..<bar]), source: source, amount: amount)
            } else {
                self.init(recordID: reference, source: nil, amount: amount)
            }
        }

        /// How `ledgerView` and breaks name the entry.
        package var reference: String { source.map { "\(recordID)|\($0)" } ?? recordID }
    }

    /// A source field: a partner id, or `~TRANSFER`.
    static func source(_ text: String) -> PartnerID? {
        text == PartnerID.transfers.rawValue ? PartnerID.transfers : try? PartnerID(text)
    }

    /// What the ledger says `partner` is due and owes in each cycle, per record or operator
    /// action that made the obligations (keyed as `Entry.reference`), summed per currency:
    /// plus what it is due, minus what it owes. Every obligation the partner is a party to
    /// is in it: its redemptions and their reversals, its earn reversals paid with other
    /// issuers' points, debts owed to it repaid by another partner's record or a transfer,
    /// and its points that repaid another partner's debt.
    package static func ledgerView(
        _ ledger: Ledger,
        partner: PartnerID
    ) throws -> [String: [(cycle: Int64?, amount: Money)]] {
        var sums: [String: [Int64?: Money]] = [:]
        for o in try ledger.store.obligations(openOnly: false) where o.creditor == partner || o.debtor == partner {
            let reference =
                o.source.partner == partner ? o.source.recordID : "\(o.source.recordID)|\(o.source.partner)"
            let signed = o.creditor == partner ? o.amount : -o.amount
            let current = sums[reference, default: [:]][o.cycle] ?? Money(0, o.currency)
            sums[reference, default: [:]][o.cycle] = try current.adding(Money(signed, o.currency))
        }
        return sums.mapValues { byCycle in byCycle.map { (cycle: $0.key, amount: $0.value) } }
    }

    /// Matches `entries` (with their lines) against the ledger's view of `partner` in `cycle`.
    package static func match(
        _ entries: [(line: Int, entry: Entry)],
        partner: PartnerID,
        cycle: Int64,
        ledger: Ledger
    ) throws
        -> ReconciliationReport
    {
        var report = ReconciliationReport(partner: partner, cycle: cycle)
        let view = try ledgerView(ledger, partner: partner)
        var seen: Set<String> = []
        for (line, entry) in entries {
            let id = entry.reference
            guard seen.insert(id).inserted else {
                report.addBreak(.duplicateInPartnerFile, recordID: id, line: line, ledger: nil, partner: entry.amount)
                continue
            }
            guard let sides = view[id] else {
                report.addBreak(.missingInLedger, recordID: id, line: line, ledger: nil, partner: entry.amount)
                continue
            }
            guard let mine = sides.first(where: { $0.cycle == cycle }) else {
                let other = sides.first!
                report.addBreak(
                    .differentCycle,
                    recordID: id,
                    line: line,
                    ledger: (other.amount, other.cycle),
                    partner: entry.amount
                )
                continue
            }
            if mine.amount.currency != entry.amount.currency || mine.amount.minorUnits != entry.amount.minorUnits {
                let kind: ReconciliationReport.BreakKind =
                    mine.amount.currency != entry.amount.currency ? .currencyDiffers : .amountDiffers
                report.addBreak(kind, recordID: id, line: line, ledger: (mine.amount, cycle), partner: entry.amount)
            } else {
                report.matchedRecords += 1
                report.matchedTotals[mine.amount.currency, default: 0] += mine.amount.minorUnits
            }
        }
        for (id, sides) in view.sorted(by: { $0.key < $1.key }) where !seen.contains(id) {
            guard let mine = sides.first(where: { $0.cycle == cycle }) else { continue }
            report.addBreak(.missingInPartnerFile, recordID: id, line: nil, ledger: (mine.amount, cycle), partner: nil)
        }
        return report
    }
}

extension Reconciliation {
    /// Takes the lines of a (verified) reconciliation file one at a time and returns its
    /// entries, with their line numbers, once the trailer is checked.
    package struct EntryReader {
        private var entries: [(line: Int, entry: Entry)] = []
        private var trailer: (count: Int, total: Int128)?
        private var total: Int128 = 0
        private var currencies: [String: Currency] = [:]

        package init() {}

        /// Takes line `number` (the header, line 1, is skipped: it was verified).
        package mutating func take(_ bytes: UnsafeBufferPointer<UInt8>, number: Int) throws {
            guard number > 1 else { return }
            let fields = bytes.split(separator: SettlementFormat.separator, omittingEmptySubsequences: false)
            let kind = String(decoding: fields[0], as: UTF8.self)
            switch kind {
            case "E":
                let shape = fields.count == 4 || fields.count == 5
                let id = shape ? String(decoding: fields[1], as: UTF8.self) : ""
                let code = shape ? String(decoding: fields[2], as: UTF8.self) : ""
                let source =
                    fields.count == 5 ? Reconciliation.source(String(decoding: fields[4], as: UTF8.self)) : nil
                guard shape, RecordKey.isValidID(id), let amount = FieldParser.signedNumber(fields[3]),
                    fields.count == 4 || source != nil
                else {
                    throw CoalitionError(
                        .malformedRecord,
                        "an E line is E|record id|currency|amount, or E|record id|currency|amount|source",
                        at: Place(line: number)
                    )
                }
                let currency: Currency
                if let known = currencies[code] {
                    currency = known
                } else {
                    currency = try at(Place(line: number)) { try Currency(code: code) }
                    currencies[code] = currency
                }
                guard trailer == nil else {
                    throw CoalitionError(.badTrailer, "a line follows the trailer", at: Place(line: number))
                }
                entries.append((number, Entry(recordID: id, source: source, amount: Money(amount, currency))))
                total += Int128(amount)
            case "T":
                guard fields.count == 3, let count = FieldParser.number(fields[1]),
                    let sum = FieldParser.signedNumber(fields[2])
                else { throw CoalitionError(.badTrailer, "the trailer is T|count|total", at: Place(line: number)) }
                trailer = (Int(count), Int128(sum))
            case "S":
                break
            default:
                throw CoalitionError(
                    .unknownRecordType,
                    "'\(kind.prefix(32))' is not a reconciliation line",
                    at: Place(line: number)
                )
            }
        }

        /// The entries, once the trailer is there and counts and totals them; faults are
        /// placed in the file at `path`.
        package func finish(path: String) throws -> [(line: Int, entry: Entry)] {
            guard let trailer else {
                throw CoalitionError(.missingTrailer, "no trailer line T|…", at: Place(file: path))
            }
            guard trailer.count == entries.count else {
                throw CoalitionError(
                    .trailerCountMismatch,
                    "the trailer counts \(trailer.count) lines, the file has \(entries.count)",
                    at: Place(file: path)
                )
            }
            guard trailer.total == total else {
                throw CoalitionError(
                    .trailerTotalMismatch,
                    "the trailer totals \(trailer.total), the lines add up to \(total)",
                    at: Place(file: path)
                )
            }
            return entries
        }
    }

    /// The lines of a reconciliation file of `entries` under `header`, before its signature.
    package static func lines(_ entries: [Entry], header: FileHeader) -> [String] {
        var lines = [header.line]
        var total: Int64 = 0
        for entry in entries {
            lines.append(
                "E|\(entry.recordID)|\(entry.amount.currency.code)|\(entry.amount.minorUnits)"
                    + (entry.source.map { "|\($0)" } ?? "")
            )
            total += entry.amount.minorUnits
        }
        lines.append("T|\(entries.count)|\(total)")
        return lines
    }
}
