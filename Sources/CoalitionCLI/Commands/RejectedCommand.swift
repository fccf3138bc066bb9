import CoalitionFiles
import CoalitionKit
import Foundation

struct ReportRejectedCommand: Command {
    static let path = ["report", "rejected"]
    static let summary = "every rejected record and file, by partner, code and period"
    static let synopsis = "[--partner ID] [--code CODE] [--from DATE] [--to DATE]"
    static let options: [OptionSpec] = [
        .value("partner", "ID", "only this partner's"),
        .value("code", "CODE", "only rejections with this reason code (docs/reason-codes.md)"),
        .value("from", "DATE", "only those received at or after DATE (YYYY-MM-DD or a UTC time)"),
        .value("to", "DATE", "only those received before the end of DATE (a date is its whole day)"),
    ]
    static let discussion = """
        Lists the records rejected inside accepted files (from the ledger: the partner, the
        file's batch number, line, record id, code and message) and the files rejected whole
        (from DIR/rejected/ and their .reason files), oldest first, then counts them by partner
        and code. After a rejected file, this is how to find what followed from it: later files
        of the same partner (SEQUENCE_GAP) and records of other partners that needed what it
        carried (UNKNOWN_MEMBER, …). See docs/operations.md, "A rejected file".
        """

    /// One rejection: a whole file (no record id) or a record inside an accepted file.
    struct Rejected: Encodable {
        let receivedAt: String
        let partner: String?
        let batch: Int64?
        let file: String
        let line: Int?
        let recordID: String?
        let code: String
        let message: String
        let wholeFile: Bool
    }

    struct Count: Encodable {
        let partner: String
        let code: String
        let records: Int
        let files: Int
    }

    struct Listing: Encodable {
        let from: String?
        let to: String?
        let partner: String?
        let code: String?
        let rejections: [Rejected]
        let counts: [Count]
    }

    /// What the listing is narrowed to.
    struct Filter {
        var partner: PartnerID?
        var code: ReasonCode?
        var from: Timestamp?
        var to: Timestamp?

        func wants(_ at: Timestamp, _ who: PartnerID?, _ reason: ReasonCode) -> Bool {
            (from.map { at >= $0 } ?? true) && (to.map { at <= $0 } ?? true)
                && (partner.map { $0 == who } ?? true) && (code.map { $0 == reason } ?? true)
        }

        /// ` of HARBOR with UNKNOWN_MEMBER from …`, or nothing.
        var text: String {
            var parts: [String] = []
            if let partner { parts.append("of \(partner)") }
            if let code { parts.append("with \(code)") }
            if let from { parts.append("from \(from)") }
            if let to { parts.append("to \(to)") }
            return parts.isEmpty ? "" : " " + parts.joined(separator: " ")
        }
    }

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let ledger = try context.data.open()
        var filter = Filter()
        filter.partner = try context.arguments.value("partner").map { try ledger.network.partner(named: $0).id }
        filter.code = context.arguments.value("code").map { ReasonCode($0.uppercased()) }
        filter.from = try context.arguments.time("from")
        filter.to = try context.arguments.value("to").map { text in
            let time = try context.arguments.time("to")!
            return text.count == 10 ? time.adding(seconds: Timestamp.secondsPerDay - 1) : time
        }
        var found = try rejectedRecords(ledger, filter)
        for (at, file) in try rejectedFiles(context.data)
        where filter.wants(at, file.partner.flatMap { try? PartnerID($0) }, ReasonCode(file.code)) {
            found.append((at, file))
        }
        let rejections = found.sorted { ($0.0, $0.1.file, $0.1.line ?? 0) < ($1.0, $1.1.file, $1.1.line ?? 0) }.map(\.1)
        let counts = count(rejections)
        if context.json {
            Output.json(
                Listing(
                    from: filter.from?.description,
                    to: filter.to?.description,
                    partner: filter.partner?.rawValue,
                    code: filter.code?.rawValue,
                    rejections: rejections,
                    counts: counts
                )
            )
        } else {
            printText(rejections, counts, filter)
        }
        return .success
    }

    /// The records rejected inside accepted files, as the ledger keeps them.
    static func rejectedRecords(_ ledger: Ledger, _ filter: Filter) throws -> [(Timestamp, Rejected)] {
        var found: [(Timestamp, Rejected)] = []
        for p in ledger.network.sortedPartners where filter.partner.map({ $0 == p.id }) ?? true {
            let last = try ledger.store.lastSequence(partner: p.id)
            guard last > 0 else { continue }
            for sequence in 1...last {
                guard let batch = try ledger.store.batch(partner: p.id, sequence: sequence), batch.rejected > 0
                else { continue }
                let at = batch.info.receivedAt
                let source = batch.info.source
                for rejection in try ledger.store.rejections(batch: batch.id)
                where filter.wants(at, p.id, rejection.code) {
                    let rejected = Rejected(
                        receivedAt: at.description,
                        partner: p.id.rawValue,
                        batch: sequence,
                        file: source.hasPrefix("file:") ? String(source.dropFirst(5)) : source,
                        line: rejection.line,
                        recordID: rejection.recordID,
                        code: rejection.code.rawValue,
                        message: rejection.message,
                        wholeFile: false
                    )
                    found.append((at, rejected))
                }
            }
        }
        return found
    }

    /// Records and files rejected, by partner and code.
    static func count(_ rejections: [Rejected]) -> [Count] {
        var counts: [String: (records: Int, files: Int)] = [:]
        for r in rejections {
            let key = "\(r.partner ?? "?")|\(r.code)"
            if r.wholeFile {
                counts[key, default: (0, 0)].files += 1
            } else {
                counts[key, default: (0, 0)].records += 1
            }
        }
        return counts.sorted { $0.key < $1.key }.map { key, value in
            let parts = key.split(separator: "|", maxSplits: 1).map(String.init)
            return Count(partner: parts[0], code: parts[1], records: value.records, files: value.files)
        }
    }

    static func printText(_ rejections: [Rejected], _ counts: [Count], _ filter: Filter) {
        guard !rejections.isEmpty else {
            Output.line("No rejected records or files\(filter.text).")
            return
        }
        var table = TextTable(["received", "partner", "batch", "line", "record", "code", "message"], numeric: [2, 3])
        for r in rejections {
            table.add([
                r.receivedAt, r.partner ?? "?", r.batch.map(String.init) ?? "-", r.line.map(String.init) ?? "-",
                r.recordID ?? "(whole file \(r.file))", r.code, r.message,
            ])
        }
        Output.line("Rejected\(filter.text):")
        Output.line(table.render())
        Output.line("")
        var summary = TextTable(["partner", "code", "records", "files"], numeric: [2, 3])
        for count in counts {
            summary.add([count.partner, count.code, String(count.records), String(count.files)])
        }
        Output.line(summary.render())
    }

    /// The files rejected whole, from the `.reason` files beside them in DIR/rejected/.
    static func rejectedFiles(_ data: DataDirectory) throws -> [(Timestamp, Rejected)] {
        SettlementFiling.rejectedFiles(in: data.path("rejected")).map { file in
            (
                file.rejectedAt,
                Rejected(
                    receivedAt: file.rejectedAt.description,
                    partner: file.partner?.rawValue,
                    batch: file.sequence,
                    file: file.file,
                    line: file.place.hasPrefix("line ") ? Int(file.place.dropFirst(5)) : nil,
                    recordID: nil,
                    code: file.code,
                    message: file.message,
                    wholeFile: true
                )
            )
        }
    }
}
