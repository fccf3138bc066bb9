import CoalitionKit
import Foundation
import Testing

@testable import CoalitionServer

@Suite("Single records over real TLS connections")
struct SingleRecordSocketTests {
    @Test func sixteenConnectionsSendingTheSameRecordApplyItOnce() throws {
        let sandbox = try APISandbox()
        try sandbox.enrolAndEarn(1)
        let server = try RunningServer(
            testConfiguration(tls: true),
            responder: ServerResponder(partnerAPI: sandbox.api)
        )
        defer { server.stop() }
        let body = recordJSON("REDEEM", id: "POS-1", member: SettlementLines.member(1), units: 100)
        let fields = try sandbox.signer().headers(
            method: "POST",
            target: "/v1/records",
            bodyDigest: SHA256.hash(body),
            at: APITime.now
        )
        var head = "POST /v1/records HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        head += "Content-Length: \(body.count)\r\n"
        for (name, value) in fields { head += "\(name): \(value)\r\n" }
        let request = Array((head + "\r\n").utf8) + body
        let port = server.port
        let trust = TestCertificate.shared.files.certificatePath
        let connected = Counter()
        let gate = Gate()
        let failures = Failures()
        let applied = Counter()
        let bodies = Bodies()
        let threads = (0..<16).map { _ in
            TestThread {
                do {
                    let client = try TestClient(port: port, tls: TLSContext(trusting: trust))
                    connected.add()
                    gate.wait()
                    try client.send(request)
                    guard let response = try client.response(seconds: 30), response.status == 200 else {
                        return failures.add("no 200")
                    }
                    if response.headers["Coalition-Record-Status"] == "applied" { applied.add() }
                    if response.headers["Coalition-Signature"] == nil { failures.add("unsigned") }
                    bodies.add(response.body)
                } catch {
                    failures.add("\(error)")
                    connected.add()
                }
            }
        }
        let deadline = Date(timeIntervalSinceNow: 60)
        while connected.value < 16 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        gate.open()
        for thread in threads { #expect(thread.join(within: 60)) }
        #expect(failures.all.isEmpty)
        #expect(applied.value == 1)
        #expect(bodies.count == 16 && bodies.distinct == 1)
        let balance = try sandbox.writer.perform { ledger in
            ledger.member(try MemberNumber(SettlementLines.member(1)))?.balance ?? -1
        }
        #expect(balance == 450)
    }
}
