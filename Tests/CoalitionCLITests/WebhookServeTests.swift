import CoalitionKit
import CoalitionSQLite
import CoalitionServer
import CoalitionTestSupport
import Foundation
import Synchronization
import Testing

/// Events delivered by a real `coalition serve` to a receiver on 127.0.0.1, across a
/// `kill -9`, and `coalition events` beside the running server.
@Suite("coalition serve: webhooks to a receiver survive kill -9; coalition events beside the server", .serialized)
struct WebhookServeTests {
    let partners = CommandRunner.partnersDirectory
    let seeds = CommandRunner.seedsDirectory

    /// Names the receiver as every partner's webhook in `data`'s network, with one secret.
    static func configureWebhooks(data: String, port: Int, certificate: String, secretFile: String) throws {
        let network = (data as NSString).appendingPathComponent("network")
        for name in try FileManager.default.contentsOfDirectory(atPath: network)
        where name.hasSuffix(".json") && name != "network.json" {
            let path = (network as NSString).appendingPathComponent(name)
            var object = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any]
            )
            object["webhook"] = [
                "url": "https://127.0.0.1:\(port)/events", "secretFile": secretFile, "trust": certificate,
            ]
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
        }
    }

    /// Waits (polling, at most `seconds`) until `condition` holds; whether it did.
    static func eventually(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }

    @Test("kill -9 mid-delivery loses no event; events list and redeliver work beside the running server")
    func killLosesNoEvent() throws {
        let work = try WorkDirectory()
        defer { work.remove() }
        let data = work.file("data")
        #expect(try work.coalition("init", "--partners", partners, data: data).status == 0)
        var secret = [UInt8](repeating: 0, count: 32)
        for index in secret.indices { secret[index] = UInt8.random(in: 0...255) }
        let secretFile = work.file("webhook.secret")
        try Data(("whsec_" + Data(secret).base64EncodedString() + "\n").utf8).write(
            to: URL(fileURLWithPath: secretFile)
        )
        let tls = try WebhookReceiverServer.makeCertificate(in: work.file("receiver"))
        let receiver = try WebhookReceiverServer(receiver: WebhookReceiver(key: secret), tls: tls)
        defer { receiver.stop() }
        try Self.configureWebhooks(
            data: data,
            port: receiver.port,
            certificate: tls.certificatePath,
            secretFile: secretFile
        )

        let durability = ServeDurabilityTests()
        let files = try durability.signedSeeds(into: work.file("signed"), data: data)
        var server = try ServeDurabilityTests.ServeProcess(data: data, work: work)
        // One thread per partner delivers its files; the server dies after the fourth answer.
        let answered = Mutex<[String]>([])
        let pid = server.process.processIdentifier
        let port = server.port
        let finished = files.map { partner, list in
            let finished = DispatchSemaphore(value: 0)
            Thread {
                defer { finished.signal() }
                guard let client = try? durability.client(partner, data: data, port: port) else { return }
                for (path, sequence) in list {
                    guard let size = try? durability.length(path),
                        let response = try? client.deliver(settlementFile: path, length: size),
                        response.status == 200
                    else { return }
                    let count = answered.withLock {
                        $0.append("evt_ack_\(partner)_\(sequence)")
                        return $0.count
                    }
                    if count == 4 { kill(pid, SIGKILL) }
                }
            }.start()
            return finished
        }
        for semaphore in finished { _ = semaphore.wait(timeout: .now() + 120) }
        server.process.waitUntilExit()
        #expect(server.process.terminationReason == .uncaughtSignal)
        // Every file answered 200 left its event in the outbox, in the same commit.
        let acknowledged = answered.withLock { $0 }
        #expect(acknowledged.count >= 4)
        do {
            let store = try SQLiteStore(path: work.file("data", "ledger.sqlite"))
            for id in acknowledged { #expect(try store.event(id: id) != nil, "\(id)") }
        }

        // Restarted, the server takes every file again and delivers every event.
        server = try ServeDurabilityTests.ServeProcess(data: data, work: work)
        for (partner, list) in files {
            let client = try durability.client(partner, data: data, port: server.port)
            for (path, _) in list {
                let response = try client.deliver(settlementFile: path, length: try durability.length(path))
                #expect(response.status == 200, "\(path): \(response.status) \(response.text)")
            }
        }
        let expected = Set(files.flatMap { partner, list in list.map { "evt_ack_\(partner)_\($0.sequence)" } })
        #expect(Self.eventually(60) { receiver.receiver.acceptedIDs.isSuperset(of: expected) })
        #expect(receiver.receiver.acceptedIDs == expected)
        #expect(receiver.receiver.counts.invalid == 0)

        // Beside the running server (which holds the writer lock): list, and redeliver one.
        // (The receiver has them all; the server records its pass just after.)
        var listing: [String: Any] = [:]
        let recorded = try Self.eventually(30) {
            let listed = try work.coalition("events", "list", "--json", data: data)
            #expect(listed.status == 0, "\(listed)")
            listing = (try? JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any]) ?? [:]
            return listing["pending"] as? Int == 0
        }
        #expect(recorded)
        #expect(listing["delivered"] as? Int == expected.count)
        #expect(listing["failed"] as? Int == 0)
        #expect((listing["events"] as? [[String: Any]])?.count == expected.count)
        let one = try #require(expected.sorted().first)
        let before = receiver.receiver.duplicates
        let redelivered = try work.coalition("events", "redeliver", one, data: data)
        #expect(redelivered.status == 0, "\(redelivered)")
        let again = Self.eventually(30) { receiver.receiver.duplicates > before }
        #expect(again)
        if !again {
            let listed = try work.coalition("events", "list", data: data)
            var logs = ""
            for name in (try? FileManager.default.contentsOfDirectory(atPath: work.path)) ?? []
            where name.hasPrefix("serve-") {
                logs += String(decoding: FileManager.default.contents(atPath: work.file(name)) ?? Data(), as: UTF8.self)
                    .split(separator: "\n").filter { !$0.hasPrefix("{") }.joined(separator: "\n")
            }
            Issue.record("\(listed.stdout)\n\(logs)")
        }
        let unknown = try work.coalition("events", "redeliver", "evt_nothing", data: data)
        #expect(unknown.status == 3)
        #expect(unknown.stderr.contains("UNKNOWN_EVENT"))

        kill(server.process.processIdentifier, SIGTERM)
        server.process.waitUntilExit()
        #expect(server.process.terminationStatus == 0)
        let audit = try work.coalition("audit", data: data)
        #expect(audit.stdout.contains("audit: OK"), "\(audit)")
    }
}
