import CoalitionFiles
import CoalitionKit
import CoalitionTestSupport
import Foundation
import Testing

@testable import CoalitionServer

@Suite(.serialized) struct OperatorPagesTests {
    /// The member server with the operator pages beside it.
    final class OperatorServer {
        let members: MemberServer
        let access: OperatorAccess
        let server: RunningServer

        init() throws {
            members = try MemberServer()
            access = OperatorAccess(dataDirectory: members.sandbox.root) { [clock = members.clock] in clock.now }
            let pages = OperatorPages(access: access, writer: members.sandbox.writer) { [clock = members.clock] in
                clock.now
            }
            server = try RunningServer(testConfiguration(), responder: ServerResponder(operatorPages: pages))
        }

        deinit { server.stop() }
    }

    func browser(_ served: OperatorServer) -> PageBrowser {
        // PageBrowser talks to the member server's port: point it at this one.
        PageBrowser(served.members, port: served.server.port, csrfCookie: "coalition_operator_csrf")
    }

    @Test func signInWithATokenShowsTheDashboardAndRevocationEndsTheSession() throws {
        let served = try OperatorServer()
        let made = try served.access.makeToken(name: "ops one")
        let browser = browser(served)
        let before = try browser.get("/operator/")
        #expect(before.status == 303 && before.headers["Location"] == "/operator/sign-in")
        let form = try browser.get("/operator/sign-in")
        #expect(form.text.contains("<label for=\"token\">"))
        #expect(form.headers["Content-Security-Policy"]?.hasPrefix("default-src 'none'") == true)
        #expect(
            try browser.post("/operator/sign-in", [("token", "coalop_" + String(repeating: "0", count: 64))]).status
                == 401
        )
        let forged = try browser.request("POST", "/operator/sign-in", form: [("token", made.secret)])
        #expect(forged.status == 403)
        let signedIn = try browser.post("/operator/sign-in", [("token", made.secret)])
        #expect(signedIn.status == 303)
        let cookie = signedIn.headers.fields.first { $0.value.hasPrefix("coalition_operator=") }?.value ?? ""
        #expect(cookie.contains("Path=/operator/") && cookie.hasSuffix("Secure; HttpOnly; SameSite=Strict"))

        let dashboard = try browser.get("/operator/")
        #expect(dashboard.status == 200)
        for section in [
            "Partners", "Open positions", "Recent cycles", "Rejections", "Key expiries coming",
            "Programme performance", "Tier mix", "0 pending, 0 delivered, 0 given up", "Failing deliveries: none.",
        ] {
            #expect(dashboard.text.contains(section), "\(section)")
        }
        // Programme performance: SKYWAYS issued Alice's 20,000 miles and Bob's 1,000 at its
        // rate, and nothing was redeemed or expired: issued is what its lots hold.
        let outstanding = try served.members.sandbox.writer.perform { $0.outstanding(try PartnerID("SKYWAYS")) }
        #expect(dashboard.text.contains("<td>SKYWAYS</td><td class=\"n\">\(Points.grouped(outstanding))</td>"))
        #expect(!dashboard.text.contains("<script"))

        let found = try browser.get("/operator/member?number=\(served.members.alice)")
        #expect(found.status == 200 && found.text.contains("Open lots"))
        #expect(try browser.get("/operator/member?number=12").status == 400)
        #expect(try browser.get("/operator/cycles/1").status == 404)  // no cycle closed in this sandbox
        let positions = try browser.get("/operator/positions")
        #expect(positions.status == 200)
        #expect(positions.headers["Content-Security-Policy"]?.contains("style-src 'sha256-") == true)

        try served.access.revoke(id: made.id)
        #expect(try browser.get("/operator/").status == 303)
        #expect(try browser.post("/operator/sign-in", [("token", made.secret)]).status == 401)
        #expect(try served.access.tokens().first?.token.revokedAt != nil)
        #expect(throws: CoalitionError.self) { try served.access.revoke(id: "op-00000000") }
    }

    @Test func tokensAreKeptOnlyAsHashes() throws {
        let served = try OperatorServer()
        let made = try served.access.makeToken(name: "ops")
        let file = try String(contentsOfFile: served.members.sandbox.root + "/access/operators.json", encoding: .utf8)
        #expect(!file.contains(made.secret) && !file.contains(String(made.secret.dropFirst(7))))
        #expect(file.contains(MemberAccess.hashHex(made.secret)))
    }

    @Test func theKeptTallyGivesTheFiguresOfAWholeReading() throws {
        let served = try OperatorServer()
        let sandbox = served.members.sandbox
        let pages = OperatorPages(access: served.access, writer: sandbox.writer) { APITime.now }
        let first = try sandbox.writer.perform { try pages.performance($0, at: APITime.now) }
        let more = SettlementLines.enrolAndEarn(3, prefix: "C", miles: 5_000)
        #expect(try sandbox.deliver(try sandbox.settlementFile(sequence: 2, body: more)).status == 200)
        let redemptions = ["REDEEM|H-R1|\(served.members.alice)|1000|2026-11-21T12:00:00Z|stay"]
        let redeemed = try sandbox.deliver(
            try sandbox.settlementFile("HARBOR", sequence: 1, body: redemptions),
            as: "HARBOR"
        )
        #expect(redeemed.status == 200)
        let kept = try sandbox.writer.perform { try pages.performance($0, at: APITime.now) }
        let whole = try sandbox.writer.perform { try ProgrammePerformance(ledger: $0, asOf: APITime.now) }
        #expect(kept.months == whole.months)
        #expect(kept.months != first.months)
        #expect(kept.activeMembers == whole.activeMembers && whole.activeMembers == 3)
        #expect(kept.partners.map(\.issued) == whole.partners.map(\.issued))
        #expect(kept.partners.map(\.redeemed) == whole.partners.map(\.redeemed))
        let harbor = try #require(whole.partners.first { $0.partner.rawValue == "HARBOR" })
        #expect(harbor.redeemed > 0)
        #expect(whole.tierMix.map(\.members).reduce(0, +) == whole.members)
    }

    /// The webhook panel names each failing delivery with its last error, escaped, and says
    /// when the outbox could not be read rather than showing nothing.
    @Test func theWebhookPanelListsFailingDeliveries() throws {
        let event = OutboxEvent(
            id: "evt_ack_SKYWAYS_7",
            partner: try PartnerID("SKYWAYS"),
            type: .acknowledgementReady,
            createdAt: APITime.now,
            body: Array("{}".utf8)
        )
        let failing = OutboxEntry(
            event: event,
            status: .pending,
            attempts: 3,
            nextAttemptAt: APITime.now,
            lastError: "WEBHOOK_REFUSED: the receiver answered 500 <html>"
        )
        let panel = OperatorPages.webhookDeliveriesPanel(
            (OutboxCounts(pending: 1_200, delivered: 5, failed: 0), [failing])
        )
        #expect(panel.contains("1,200 pending, 5 delivered, 0 given up"))
        #expect(panel.contains("<td>evt_ack_SKYWAYS_7</td>"))
        #expect(panel.contains("answered 500 &lt;html&gt;"))
        #expect(!panel.contains("<html>"))
        #expect(OperatorPages.webhookDeliveriesPanel(nil).contains("cannot be read"))
    }

    /// A file refused whole is read back from its `.reason` file, with the partner and batch
    /// its header names, and listed newest first on the dashboard.
    @Test func filesRejectedWholeAreListedFromTheirReasons() throws {
        let folder = NSTemporaryDirectory() + "coalition-rejected-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let header = "H|COALITION-SETTLEMENT|1|P2C|SKYWAYS|9|2026-11-21T10:00:00Z|SKYWAYS-2026A\n"
        try Data(header.utf8).write(to: URL(fileURLWithPath: folder + "/late.csf"))
        let refused = CoalitionError(.badSignature, "the signature does not match")
        let early = try Timestamp(parsing: "2026-11-21T10:05:00Z")
        try SettlementFiling.writeReason(refused, name: "late.csf", at: early, to: folder + "/late.csf.reason")
        try Data("not a header\n".utf8).write(to: URL(fileURLWithPath: folder + "/junk.csf"))
        let malformed = CoalitionError(.badHeader, "the header <is> not one")
        let later = try Timestamp(parsing: "2026-11-22T08:00:00Z")
        try SettlementFiling.writeReason(malformed, name: "junk.csf", at: later, to: folder + "/junk.csf.reason")

        let files = SettlementFiling.rejectedFiles(in: folder)
        #expect(files.count == 2)
        let late = try #require(files.first { $0.file == "late.csf" })
        #expect(late.partner?.rawValue == "SKYWAYS" && late.sequence == 9)
        #expect(late.code == "BAD_SIGNATURE" && late.place == "whole file" && late.rejectedAt == early)
        let panel = OperatorPages.rejectedFilesPanel(files)
        let junk = try #require(panel.range(of: "junk.csf"))
        #expect(junk.lowerBound < panel.range(of: "late.csf")!.lowerBound)
        #expect(panel.contains("<td>unknown</td>") && panel.contains("<td>BAD_HEADER</td>"))
        #expect(OperatorPages.rejectedFilesPanel([]).contains("Files rejected whole: none."))
    }
}
