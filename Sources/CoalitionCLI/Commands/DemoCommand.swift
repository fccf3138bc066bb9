import CoalitionFiles
import CoalitionGeneration
import CoalitionKit
import CoalitionSQLite
import Foundation

struct DemoCommand: Command {
    static let path = ["demo"]
    static let summary = "build the demo network from partners/ and seeds/, and show what it cleared"
    static let synopsis = ""
    static let acceptsJSON = false
    static let options: [OptionSpec] = [
        .value("partners", "DIR", "the network definition (default ./partners)"),
        .value("seeds", "DIR", "the partners' settlement files, unsigned (default ./seeds)"),
        .flag("serve", "a partner delivers its last file over HTTPS, and every partner fetches its statement"),
    ]
    static let discussion = """
        Makes a fresh data directory (replacing one an earlier demo made, never any other), signs
        each seed file with its partner's demo key into the inbox, ingests the inbox, replays one
        file and sends one with a byte changed to show how they are answered, prints a summary,
        and audits the result. With --serve, the last file is held back from the inbox and its
        partner's system delivers it over HTTPS to the server `coalition serve` runs (in this
        process, on a loopback port, with the demo certificate) and fetches its acknowledgement;
        after the cycle closes, every partner fetches its statement the same way, and a member
        pays with points at HARBOR's front desk (a balance inquiry, then one REDEEM record over
        POST /v1/records). SKYWAYS takes its events (docs/api.md §6) at a webhook receiver the
        demo runs on a loopback port: its acknowledgements, the cycle closed and its statement,
        each signed and verified.
        """

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let data = context.data
        try prepare(data)
        var (network, store) = try data.create(from: context.arguments.value("partners") ?? "partners")
        context.opened.hold(try WriterLock.acquire(dataDirectory: data.root, waitSeconds: 0))
        _ = FileManager.default.createFile(atPath: data.path(".demo"), contents: Data("made by coalition demo\n".utf8))
        let serving = context.arguments.has("serve")
        // With --serve, SKYWAYS's back office takes its events at a receiver of the demo's.
        let webhook = serving ? try DemoWebhook(data: data) : nil
        defer { webhook?.stop() }
        if let webhook { network = try network.withWebhook(webhook.endpoint, for: DemoWebhook.partner) }
        let ledger = try Ledger(network: network, store: store)
        context.opened.add(ledger)
        let seeds = context.arguments.value("seeds") ?? "seeds"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: seeds)) ?? []).filter {
            $0.hasSuffix(".csf")
        }
        guard !names.isEmpty else {
            throw CoalitionError(
                .badConfig,
                "no seed files (*.csf) found; run `coalition seed`",
                at: Place(file: seeds)
            )
        }
        try signSeeds(names, from: seeds, into: data, network: network)
        let now = Clock.now
        let intake = FileIntake(data: data, ledger: ledger, now: now, showProgress: true)
        var ordered = names.map { data.path("inbox", $0) }.sorted {
            IngestCommand.headerOrder($0) < IngestCommand.headerOrder($1)
        }
        // With --serve, the last file goes over HTTPS instead: kept out of the inbox until then.
        var held: String?
        if serving, ordered.count > 1 {
            held = data.path("\(ordered.last!.split(separator: "/").last!).held")
            try FileManager.default.moveItem(atPath: ordered.removeLast(), toPath: held!)
        }
        try ingestSeeds(ordered, from: seeds, intake: intake, store: store, data: data)
        try resendAndDamage(
            data.path("archive", (ordered[0] as NSString).lastPathComponent),
            intake: intake,
            data: data
        )
        Output.line("")
        if let held {
            try deliverOverHTTPS(held, data: data, ledger: ledger, webhook: webhook)
            Output.line("")
        }

        let end = DemoData.plan.start.adding(days: Int64(DemoData.plan.days))
        try membersDemo(ledger, at: end)

        let summary = try NetworkSummary(ledger: ledger, at: end)
        Output.line("")
        printSummary(summary, network: network)

        // The operator closes the cycle; a partner reconciles it.
        guard case .closed(let cycle) = try CycleCloser.close(ledger, through: end, now: now) else {
            throw CoalitionError(.storeFailure, "the demo's first cycle was already closed")
        }
        let files = try CycleCloseCommand.publish(cycle, ledger: ledger, data: data)
        Output.line("")
        CycleShowCommand.print(cycle)
        Output.line("")
        Output.line("Statements: \(files.statements.count) signed, in \(data.path("outbox"))/")
        Output.line("Report: \(files.report)")
        if serving { try fetchStatementsOverHTTPS(cycle: cycle.number, data: data, ledger: ledger, webhook: webhook) }
        try reconcileDemo(ledger, cycle: cycle, data: data, now: now)

        let audit = try Audit.run(ledger)
        Output.line("")
        if audit.isClean {
            Output.line("audit: OK: \(audit.postings) postings, hash chain intact, books balance, invariants hold")
        } else {
            Output.line("audit: FAILED")
            for problem in audit.problems { Output.line("  AUDIT_FAILED: \(problem)") }
        }
        return audit.isClean ? .success : .rejected
    }

    /// Signs each seed file as its partner's system would, into the inbox.
    static func signSeeds(_ names: [String], from seeds: String, into data: DataDirectory, network: Network) throws {
        for name in names.sorted() {
            let target = data.path("inbox", name)
            try FileManager.default.copyItem(atPath: seeds + "/" + name, toPath: target)
            let header = try headerOf(target)
            let partner = try network.partner(header.partner)
            guard let key = try data.keyRing(for: partner).key(id: header.keyID) else {
                throw CoalitionError(.unknownKey, "\(partner.id) has no key \(header.keyID)", at: Place(file: target))
            }
            _ = try FileSigning.sign(path: target, key: key.secret)
        }
    }

    /// Ingests the signed files in order and prints what was applied and rejected, by code.
    static func ingestSeeds(
        _ ordered: [String],
        from seeds: String,
        intake: FileIntake,
        store: any LedgerStore,
        data: DataDirectory
    ) throws {
        Output.line("Ingesting \(ordered.count) signed settlement files from \(seeds)/ through \(data.path("inbox"))/")
        var totals = (files: 0, records: 0, accepted: 0, rejected: 0)
        var codes: [ReasonCode: Int] = [:]
        for (index, path) in ordered.enumerated() {
            let report = try intake.process(path, move: true, position: (index + 1, ordered.count))
            guard case .accepted = report.result.status, let s = report.result.summary else {
                Output.line("  " + FileIntake.describe(report))
                continue
            }
            totals.files += 1
            totals.records += s.records
            totals.accepted += s.accepted
            totals.rejected += s.rejected
            for rejection in try store.rejections(batch: s.id) { codes[rejection.code, default: 0] += 1 }
        }
        let codeText = codes.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \($0.key)" }
        Output.line(
            "  \(totals.files) files accepted: \(totals.records) records, \(totals.accepted) applied, \(totals.rejected) rejected"
                + (codeText.isEmpty ? "" : " (" + codeText.joined(separator: ", ") + ")")
                + "; acknowledgements in \(data.path("outbox"))/"
        )
    }

    /// A partner's system retries a file it already sent (`first`, archived), and one arrives
    /// damaged: the retry is answered as before, the damaged one rejected whole.
    static func resendAndDamage(_ first: String, intake: FileIntake, data: DataDirectory) throws {
        let replay = data.path("inbox", "replay-" + (first as NSString).lastPathComponent)
        try FileManager.default.copyItem(atPath: first, toPath: replay)
        let replayed = try intake.process(replay, move: true)
        Output.line("  replayed " + FileIntake.describe(replayed))
        let damaged = data.path("inbox", "damaged-" + (first as NSString).lastPathComponent)
        var bytes = [UInt8](FileManager.default.contents(atPath: first)!)
        if let digit = bytes.indices.reversed().first(where: { (49...56).contains(bytes[$0]) && $0 < bytes.count - 80 })
        {
            bytes[digit] += 1
        }
        _ = FileManager.default.createFile(atPath: damaged, contents: Data(bytes))
        let rejected = try intake.process(damaged, move: true)
        Output.line("  sent with one digit changed: " + FileIntake.describe(rejected))
    }

    /// Members move points, the operator reviews tiers and runs expiry: what a day of the
    /// programme looks like from the members' side.
    static func membersDemo(_ ledger: Ledger, at end: Timestamp) throws {
        let network = ledger.network
        let rich = ledger.state.members.values.filter { $0.available(at: end) >= 20_000 && $0.debts.isEmpty }
            .map(\.number).sorted()
        if rich.count >= 3 {
            let (a, b, c) = (rich[0], rich[1], rich[2])
            let at = end.adding(seconds: -3600)
            let attempts: [(String, TransferRequest)] = [
                ("", TransferRequest(from: a, to: b, points: 2_000, idempotencyKey: "demo-t1", at: at)),
                (
                    "retried with the same key: ",
                    TransferRequest(from: a, to: b, points: 2_000, idempotencyKey: "demo-t1", at: at)
                ),
                (
                    "",
                    TransferRequest(
                        from: a,
                        to: c,
                        points: 5_000,
                        idempotencyKey: "demo-t2",
                        at: at.adding(seconds: 60)
                    )
                ),
                (
                    "",
                    TransferRequest(
                        from: a,
                        to: c,
                        points: 1_000,
                        idempotencyKey: "demo-t3",
                        at: at.adding(seconds: 120)
                    )
                ),
                (
                    "",
                    TransferRequest(from: b, to: a, points: 150, idempotencyKey: "demo-t4", at: at.adding(seconds: 180))
                ),
            ]
            Output.line(
                "Member transfers (limits: \(network.transferLimits.transfersPerDay ?? 0) a day, minimum \(network.transferLimits.minimum)):"
            )
            for (label, request) in attempts {
                do {
                    let result = try ledger.transfer(request)
                    Output.line(
                        "  \(label)\(request.from) → \(request.to) \(Points.grouped(request.points)): "
                            + (result.isReplay
                                ? "already done, the first result returned" : "moved (posting \(result.seq))")
                    )
                } catch let error as CoalitionError where !error.isStoreFault {
                    Output.line(
                        "  \(label)\(request.from) → \(request.to) \(Points.grouped(request.points)): refused, \(error.code): \(error.message)"
                    )
                }
            }
        }
        let upgrades = ledger.state.members.values.filter { $0.tier > 0 }.count
        let changes = try ledger.reviewTiers(asOf: end, now: end)
        var perTier = [Int](repeating: 0, count: network.tiers.count)
        for account in ledger.state.members.values { perTier[account.tier] += 1 }
        Output.line(
            "Tiers: \(upgrades) members upgraded as they earned; the review as of \(end.date) changed \(changes.count); now "
                + network.tiers.enumerated().map { "\(perTier[$0.offset]) \($0.element.name)" }.joined(separator: ", ")
        )
        let expiry = try ledger.expire(asOf: end, now: end)
        Output.line(
            "Expiry as of \(end.date): \(Points.grouped(expiry.points)) points in \(expiry.lots) lots of \(expiry.members) members "
                + "became breakage ("
                + expiry.breakage.sorted { $0.key < $1.key }.map { "\($0.key) \(Points.grouped($0.value))" }
                .joined(separator: ", ") + ")"
        )
    }

    /// MARKETPLACE sends its view of the cycle with two mistakes of the kind real
    /// back offices make: an amount keyed wrong, and a redemption it forgot.
    static func reconcileDemo(_ ledger: Ledger, cycle: ClearingCycle, data: DataDirectory, now: Timestamp) throws {
        let partner = try ledger.network.partner(PartnerID("MARKETPLACE"))
        var entries = try Reconciliation.ledgerView(ledger, partner: partner.id).compactMap { id, sides in
            sides.first { $0.cycle == cycle.number }.map { Reconciliation.Entry(recordID: id, amount: $0.amount) }
        }.sorted { $0.recordID < $1.recordID }
        guard entries.count >= 2 else { return }
        let wrong = entries[0]
        entries[0] = Reconciliation.Entry(
            recordID: wrong.recordID,
            source: wrong.source,
            amount: Money(wrong.amount.minorUnits + 100, wrong.amount.currency)
        )
        entries.removeLast()
        let ring = try data.keyRing(for: partner)
        let key = try ring.signingKey(at: now)
        let header = FileHeader(
            kind: .reconciliation,
            partner: partner.id,
            sequence: cycle.number,
            createdAt: now,
            keyID: key.info.id
        )
        let path = data.path("inbox", "\(partner.id)-reconcile-cycle-\(cycle.number).rec")
        try Reconciliation.write(entries, header: header, key: key.secret, to: path)
        let report = try Reconciliation.reconcile(path: path, ledger: ledger) { try data.keyRing(for: $0) }
        try FileManager.default.moveItem(
            atPath: path,
            toPath: FileIntake.uniquePath(data.path("archive", (path as NSString).lastPathComponent))
        )
        Output.line("")
        ReconcileCommand.print(report)
    }

    /// Clears a data directory an earlier demo made; refuses any other non-empty one.
    static func prepare(_ data: DataDirectory) throws {
        let fileManager = FileManager.default
        guard fileManager.fileExists(atPath: data.root) else { return }
        let isEmpty = (try? fileManager.contentsOfDirectory(atPath: data.root).isEmpty) ?? false
        guard fileManager.fileExists(atPath: data.path(".demo")) || isEmpty else {
            throw CoalitionError(
                .ledgerExists,
                "\(data.root) exists and was not made by `coalition demo`; it was left untouched. "
                    + "Pass --data with a new directory.",
                at: Place(file: data.root)
            )
        }
        try fileManager.removeItem(atPath: data.root)
    }

    static func headerOf(_ path: String) throws -> FileHeader {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CoalitionError(.io, "cannot read the file", at: Place(file: path))
        }
        defer { try? handle.close() }
        let start = [UInt8](handle.readData(ofLength: SettlementFormat.maximumLineLength + 1))
        let end = start.firstIndex(of: 10) ?? start.count
        return try at(Place(file: path)) { try FileHeader(line: start[0..<end], expecting: [.settlement]) }
    }

    static func printSummary(_ summary: NetworkSummary, network: Network) {
        Output.line("\(network.name): \(summary.members) members, \(network.partners.count) partners")
        if summary.membersWithDebt > 0 {
            Output.line(
                "\(summary.membersWithDebt) members owe points after reversals; later earnings repay them first"
            )
        }
        Output.line("")
        Output.line("Points outstanding by issuer:")
        var issuers = TextTable(["issuer", "points", "open lots"], numeric: [1, 2])
        for line in summary.issuers {
            issuers.add([line.issuer.rawValue, Points.grouped(line.pointsOutstanding), String(line.openLots)])
        }
        issuers.add(["total", Points.grouped(summary.issuers.reduce(0) { $0 + $1.pointsOutstanding }), ""])
        Output.line(issuers.render())
        if summary.expiredPending > 0 {
            Output.line(
                "expired, breakage pending: \(Points.grouped(summary.expiredPending)) points (in none of the figures above)"
            )
        }
        Output.line("")
        Output.line("Obligations between partners (open, gross):")
        var obligations = TextTable(
            ["currency", "issuer pays", "redeemer", "points", "amount", "records"],
            numeric: [3, 4, 5]
        )
        for line in summary.obligations {
            obligations.add([
                line.currency.code, line.debtor.rawValue, line.creditor.rawValue, Points.grouped(line.points),
                Money.decimal(line.amount, exponent: line.currency.minorUnitExponent), String(line.count),
            ])
        }
        Output.line(obligations.render())
    }
}
