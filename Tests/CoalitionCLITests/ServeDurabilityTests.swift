import CoalitionFiles
import CoalitionKit
import CoalitionSQLite
import CoalitionServer
import CoalitionTestSupport
import Foundation
import Synchronization
import Testing

/// A partner's deliveries to a real `coalition serve` process, and what survives it.
@Suite("coalition serve: partners deliver over HTTPS; kill -9 loses nothing answered 2xx", .serialized)
struct ServeDurabilityTests {
    let partners = CommandRunner.partnersDirectory
    let seeds = CommandRunner.seedsDirectory

    /// A running `coalition serve` on a loopback port of the system's choosing.
    final class ServeProcess {
        let process = Process()
        let port: Int
        /// What it printed, standard output and error together.
        let output: String

        init(data: String, work: WorkDirectory) throws {
            let executable = try #require(CommandRunner.executable)
            output = work.file("serve-\(UInt32.random(in: 0...UInt32.max)).out")
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            process.executableURL = executable
            process.arguments = ["serve", "--data", data, "--listen", "127.0.0.1:0"]
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            process.standardError = process.standardOutput
            process.standardInput = FileHandle.nullDevice
            try process.run()
            var found: Int?
            for _ in 0..<2000 where found == nil {
                let text = String(decoding: FileManager.default.contents(atPath: output) ?? Data(), as: UTF8.self)
                if let range = text.range(of: "listening on https://127.0.0.1:") {
                    found = Int(text[range.upperBound...].prefix { $0.isNumber })
                } else {
                    usleep(10_000)
                }
            }
            port = try #require(found, "serve did not start")
        }

        deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
    }

    /// The seed files, signed with their partners' demo keys, in `folder`, by partner in
    /// batch order.
    func signedSeeds(into folder: String, data: String) throws -> [PartnerID: [(path: String, sequence: Int64)]] {
        let network = try NetworkLoader.load(directory: (data as NSString).appendingPathComponent("network"))
        let keys = (data as NSString).appendingPathComponent("keys")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var files: [PartnerID: [(path: String, sequence: Int64)]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: seeds).sorted() where name.hasSuffix(".csf") {
            let path = (folder as NSString).appendingPathComponent(name)
            try FileManager.default.copyItem(atPath: (seeds as NSString).appendingPathComponent(name), toPath: path)
            let line = String(decoding: FileManager.default.contents(atPath: path)!.prefix { $0 != 10 }, as: UTF8.self)
            let header = try FileHeader(line: Array(line.utf8)[...], expecting: [.settlement])
            let ring = try KeyRing.load(try network.partner(header.partner), directory: keys)
            _ = try FileSigning.sign(path: path, key: try #require(ring.key(id: header.keyID)).secret)
            files[header.partner, default: []].append((path, header.sequence))
        }
        return files.mapValues { $0.sorted { $0.sequence < $1.sequence } }
    }

    func client(_ partner: PartnerID, data: String, port: Int) throws -> PartnerClient {
        let network = try NetworkLoader.load(directory: (data as NSString).appendingPathComponent("network"))
        let ring = try KeyRing.load(
            try network.partner(partner),
            directory: (data as NSString).appendingPathComponent("keys")
        )
        let now = Timestamp(seconds: Int64(Date().timeIntervalSince1970))
        let key = try ring.signingKey(at: now)
        let http = try HTTPSClient(
            host: "127.0.0.1",
            port: port,
            trusting: (data as NSString).appendingPathComponent("tls/demo-cert.pem")
        )
        return PartnerClient(
            signer: RequestSigner(partner: partner, keyID: key.info.id, secret: key.secret),
            http: http
        ) { Timestamp(seconds: Int64(Date().timeIntervalSince1970)) }
    }

    func length(_ path: String) throws -> Int64 {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64)
    }

    @Test("demo --serve delivers a file and fetches answers over HTTPS, to the same ledger as the demo")
    func demoServe() throws {
        let work = try WorkDirectory()
        defer { work.remove() }
        let served = try work.coalition(
            "demo",
            "--serve",
            "--partners",
            partners,
            "--seeds",
            seeds,
            data: work.file("a")
        )
        let plain = try work.coalition("demo", "--partners", partners, "--seeds", seeds, data: work.file("b"))
        #expect(served.status == 0, "\(served)")
        #expect(served.stdout.contains("POST /v1/settlement-files SKYWAYS-000006.csf: 200"))
        #expect(served.stdout.contains("signed acknowledgement, the same bytes as outbox/"))
        #expect(served.stdout.contains("SKYWAYS GET /v1/acknowledgements/6: 200, the same acknowledgement"))
        for partner in ["HARBOR", "MARKETPLACE", "ROADRUNNER", "SKYWAYS"] {
            #expect(served.stdout.contains("\(partner) GET /v1/statements/1: 200, its signed statement, as in outbox/"))
        }
        // A redemption at the point of sale, after the cycle, and SKYWAYS's events at its receiver.
        #expect(served.stdout.contains("HARBOR POST /v1/records REDEEM 2000 HPT: 200 accepted"))
        #expect(served.stdout.contains("acknowledgement.ready evt_ack_SKYWAYS_6, signature verified"))
        #expect(served.stdout.contains("statement.ready evt_stmt_SKYWAYS_1, signature verified"))
        // Otherwise the ledger is the one the plain demo makes: the same postings, the same
        // cycle, and one posting more, the front desk's redemption.
        func figures(_ text: String) -> [Substring] {
            text.split(separator: "\n").filter {
                $0.hasPrefix("Cycle 1:") || $0.hasPrefix("  total ")
            }.map { $0.split(separator: ", closed ").first! }
        }
        #expect(figures(served.stdout) == figures(plain.stdout))
        #expect(figures(served.stdout).count == 2)
        func postings(_ text: String) -> Int? {
            text.split(separator: "\n").first { $0.hasPrefix("audit: OK: ") }
                .flatMap { Int($0.dropFirst("audit: OK: ".count).prefix { $0.isNumber }) }
        }
        let plainPostings = try #require(postings(plain.stdout))
        #expect(postings(served.stdout) == plainPostings + 1)
    }

    @Test("kill -9 with deliveries in flight: every file answered 200 is in the ledger, audit is clean, the rest go on")
    func killWithWritesInFlight() throws {
        let work = try WorkDirectory()
        defer { work.remove() }
        let data = work.file("data")
        #expect(try work.coalition("init", "--partners", partners, data: data).status == 0)
        let files = try signedSeeds(into: work.file("signed"), data: data)
        var server = try ServeProcess(data: data, work: work)
        // One thread per partner delivers its files in order; the server dies after the
        // third answer, whatever is in flight then.
        let answered = Mutex<[PartnerID: [Int64]]>([:])
        let answers = Mutex(0)
        let port = server.port
        let pid = server.process.processIdentifier
        let finished = files.map { partner, list in
            let finished = DispatchSemaphore(value: 0)
            Thread { [self] in
                defer { finished.signal() }
                guard let client = try? client(partner, data: data, port: port) else { return }
                for (path, sequence) in list {
                    guard let size = try? length(path),
                        let response = try? client.deliver(settlementFile: path, length: size),
                        response.status == 200
                    else { return }
                    answered.withLock { $0[partner, default: []].append(sequence) }
                    let count = answers.withLock {
                        $0 += 1
                        return $0
                    }
                    if count == 3 { kill(pid, SIGKILL) }
                }
            }.start()
            return finished
        }
        for semaphore in finished { _ = semaphore.wait(timeout: .now() + 120) }
        server.process.waitUntilExit()
        #expect(server.process.terminationReason == .uncaughtSignal)
        let durable = answered.withLock { $0 }
        #expect(durable.values.map(\.count).reduce(0, +) >= 3)
        // Every file answered 200 is in the ledger, and the ledger audits clean.
        do {
            let network = try NetworkLoader.load(directory: work.file("data", "network"))
            let store = try SQLiteStore(path: work.file("data", "ledger.sqlite"))
            let ledger = try Ledger(network: network, store: store)
            for (partner, sequences) in durable {
                for sequence in sequences {
                    #expect(try store.batch(partner: partner, sequence: sequence) != nil, "\(partner) \(sequence)")
                }
            }
            #expect(try Audit.run(ledger).isClean)
        }
        // A restarted server takes every file again: the applied ones answer as duplicates
        // with their acknowledgement, the others are applied.
        server = try ServeProcess(data: data, work: work)
        for (partner, list) in files {
            let client = try client(partner, data: data, port: server.port)
            for (path, _) in list {
                let response = try client.deliver(settlementFile: path, length: try length(path))
                #expect(response.status == 200, "\(path): \(response.status) \(response.text)")
            }
        }
        kill(server.process.processIdentifier, SIGTERM)
        server.process.waitUntilExit()
        #expect(server.process.terminationStatus == 0)
        let audit = try work.coalition("audit", data: data)
        #expect(audit.status == 0, "\(audit)")
        #expect(audit.stdout.contains("audit: OK"), "\(audit)")
    }
}
