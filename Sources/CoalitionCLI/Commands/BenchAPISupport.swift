import CoalitionFiles
import CoalitionGeneration
import CoalitionKit
import CoalitionSQLite
import CoalitionServer
import Foundation

/// The two ledgers of `bench api`, set up alike: one submits locally, one is served.
struct BenchAPISetup {
    let root: String
    let members: Int
    let network: Network
    let rings: [PartnerID: KeyRing]
    let partner: PartnerID
    let start: Timestamp
    /// The clock of the whole run: files are created, received and signed at it.
    var now: Timestamp { start.adding(days: 1) }

    init(root: String, members: Int, seed: UInt64) throws {
        self.root = root
        self.members = members
        (network, rings) = try BenchData.network(partners: 4, seed: seed)
        partner = network.sortedPartners[0].id
        start = try Timestamp(parsing: "2026-01-01T00:00:00Z")
        for folder in ["files", "local/outbox", "served/outbox", "served/archive", "served/rejected", "served/keys"] {
            try FileManager.default.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true)
        }
        for ring in rings.values {
            for key in ring.keys {
                try KeyFile.write(key.secret, to: root + "/served/keys/\(key.info.id).key", comment: "bench key")
            }
        }
    }

    /// A ledger in `folder` with the members set up.
    func makeLedger(_ folder: String) throws -> Ledger {
        let ledger = try Ledger(
            network: network,
            store: try SQLiteStore(path: root + "/\(folder)/ledger.sqlite", create: true)
        )
        try BenchData.setup(network: network, members: members, start: start, batchSize: 16_384) { batch in
            try ledger.apply(batch, info: BatchInfo(source: "bench-setup", receivedAt: start))
        }
        return ledger
    }

    func writeFile(sequence: Int64, records: Int, seed: UInt64) throws -> String {
        let ring = rings[partner]!
        let file = root + "/files/\(partner)-\(sequence).csf"
        let header = FileHeader(
            kind: .settlement,
            partner: partner,
            sequence: sequence,
            createdAt: now,
            keyID: ring.keys[0].info.id
        )
        let generated = BenchData.Records(
            partner: partner,
            members: members,
            count: records,
            start: start.adding(seconds: 3600),
            seed: seed
        )
        try SettlementFile.write(generated, header: header, key: ring.keys[0].secret, to: file)
        return file
    }

    /// Seconds to submit `file` as `coalition submit` does, on a ledger of its own.
    func submitLocally(_ file: String) throws -> Double {
        let ledger = try makeLedger("local")
        let ingestor = Ingestor(ledger: ledger, now: now) { rings[$0.id]! }
        let clock = MonotonicClock.now
        let result = try ingestor.ingest(path: file, outbox: root + "/local/outbox")
        let seconds = MonotonicClock.seconds(since: clock)
        guard case .accepted = result.status else {
            throw CoalitionError(.storeFailure, "the bench file was not accepted: \(result.status)")
        }
        return seconds
    }

    func startServer() throws -> BenchServer {
        try BenchServer(setup: self, ledger: try makeLedger("served"))
    }
}

/// The server of `coalition serve`, in this process on a loopback port with TLS.
final class BenchServer {
    let setup: BenchAPISetup
    let writer: LedgerWriter
    let server: HTTPServer
    let tls: HTTPServerConfiguration.TLSFiles
    let client: PartnerClient
    private let stopped = DispatchSemaphore(value: 0)
    private var isStopped = false

    init(setup: BenchAPISetup, ledger: Ledger) throws {
        self.setup = setup
        let folder = setup.root + "/served"
        tls = HTTPServerConfiguration.TLSFiles(certificatePath: folder + "/cert.pem", keyPath: folder + "/key.pem")
        try makeSelfSignedCertificate(certificatePath: tls.certificatePath, keyPath: tls.keyPath)
        writer = LedgerWriter(ledger: ledger)
        let now = setup.now
        let api = try PartnerAPI(writer: writer, dataDirectory: folder, maximumUploadBytes: 1 << 40) { now }
        server = try HTTPServer(
            configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0, tls: tls),
            // As `coalition serve` answers: every request timed and counted for /metrics
            // (the request log is off here, as nginx's access log is in its half).
            responder: ObservedResponder(ServerResponder(partnerAPI: api), metrics: RequestMetrics(), log: nil) {
                now
            }
        )
        let key = setup.rings[setup.partner]!.keys[0]
        client = PartnerClient(
            signer: RequestSigner(partner: setup.partner, keyID: key.info.id, secret: key.secret),
            http: try HTTPSClient(host: "127.0.0.1", port: server.port, trusting: tls.certificatePath),
            now: { now }
        )
        Thread { [server, stopped] in
            try? server.run()
            stopped.signal()
        }.start()
    }

    var port: Int { server.port }

    /// Seconds to deliver `file` and have its acknowledgement back.
    func deliver(_ file: String) throws -> Double {
        let length = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int64) ?? 0
        let clock = MonotonicClock.now
        let response = try client.deliver(settlementFile: file, length: length)
        let seconds = MonotonicClock.seconds(since: clock)
        guard response.status == 200 else {
            throw CoalitionError(.storeFailure, "the bench file was answered \(response.status): \(response.text)")
        }
        return seconds
    }

    func acknowledgementPath(sequence: Int64) -> String {
        let header = FileHeader(
            kind: .settlement,
            partner: setup.partner,
            sequence: sequence,
            createdAt: setup.now,
            keyID: ""
        )
        return Ingestor.acknowledgementPath(setup.root + "/served/outbox", header)
    }

    /// The signature fields of a GET of `target`, valid for the whole run (the server's
    /// clock is the run's).
    func signedHeaders(_ target: String) throws -> [(name: String, value: String)] {
        try client.signer.headers(
            method: "GET",
            target: target,
            bodyDigest: CanonicalRequest.digest(of: []),
            at: setup.now
        )
    }

    func stop() {
        guard !isStopped else { return }
        isStopped = true
        server.shutdown()
        stopped.wait()
        try? writer.shutdown()
    }
}

/// wrk and nginx from Debian, run as the load tool and the static-file baseline.
enum LoadTools {
    static func installed(_ path: String) -> String? { FileManager.default.isExecutableFile(atPath: path) ? path : nil }
    static var wrk: String? { installed("/usr/bin/wrk") }
    static var nginx: String? { installed("/usr/sbin/nginx") }

    struct WrkResult {
        let requestsPerSecond: Double
        /// wrk's latency line: average, standard deviation, maximum.
        let latency: String
    }

    static func runWrk(
        _ wrk: String,
        url: String,
        headers: [(name: String, value: String)],
        connections: Int,
        seconds: Int
    ) throws -> WrkResult {
        var arguments = ["-t", "2", "-c", String(connections), "-d", "\(seconds)s", "--timeout", "10s"]
        for (name, value) in headers { arguments += ["-H", "\(name): \(value)"] }
        let output = try runToEnd(wrk, arguments + [url])
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("Requests/sec:") }),
            let rate = Double(line.dropFirst("Requests/sec:".count).trimmingCharacters(in: .whitespaces))
        else { throw CoalitionError(.io, "wrk printed no request rate:\n\(output)") }
        if let errors = output.split(separator: "\n").first(where: { $0.contains("Non-2xx") }) {
            throw CoalitionError(.io, "wrk had failed requests (\(errors.trimmingCharacters(in: .whitespaces)))")
        }
        let latency = output.split(separator: "\n").first {
            $0.trimmingCharacters(in: .whitespaces).hasPrefix("Latency")
        }
        .map { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().prefix(3).joined(separator: " ") }
        return WrkResult(requestsPerSecond: rate, latency: latency ?? "?")
    }

    static func runToEnd(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw CoalitionError(.io, "\(executable) failed (\(process.terminationStatus)):\n\(text)")
        }
        return text
    }

    /// CPU seconds (user and system) used so far by this process, all its threads.
    static func ownCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// CPU seconds used so far by process `pid` and its child processes still running
    /// (nginx's workers), from /proc; 0 for a process that is gone.
    static func cpuSeconds(ofTree pid: Int32) -> Double {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        func own(_ pid: String) -> Double {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let end = stat.lastIndex(of: ")")
            else { return 0 }
            // After "pid (name)": state is field 3; utime and stime are fields 14 and 15.
            let fields = stat[stat.index(after: end)...].split(separator: " ")
            guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
            return (user + system) / ticks
        }
        let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        return own(String(pid)) + children.split(separator: " ").map { own(String($0)) }.reduce(0, +)
    }

    /// nginx serving one file at `/ack` over TLS on a loopback port, two workers, no logs.
    final class NginxRun {
        let process = Process()
        let port: Int

        init(_ nginx: String, folder: String, file: String, tls: HTTPServerConfiguration.TLSFiles) throws {
            try FileManager.default.createDirectory(atPath: folder + "/root", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: file, toPath: folder + "/root/ack")
            port = try Self.freePort()
            let user = getuid() == 0 ? "user root;\n" : ""
            let configuration = """
                \(user)worker_processes 2;
                daemon off;
                pid \(folder)/nginx.pid;
                error_log \(folder)/error.log;
                events { worker_connections 1024; }
                http {
                    access_log off;
                    client_body_temp_path \(folder)/body;
                    proxy_temp_path \(folder)/proxy;
                    fastcgi_temp_path \(folder)/fastcgi;
                    uwsgi_temp_path \(folder)/uwsgi;
                    scgi_temp_path \(folder)/scgi;
                    default_type text/plain;
                    keepalive_requests 1000000;
                    server {
                        listen 127.0.0.1:\(port) ssl;
                        ssl_certificate \(tls.certificatePath);
                        ssl_certificate_key \(tls.keyPath);
                        ssl_protocols TLSv1.2 TLSv1.3;
                        root \(folder)/root;
                    }
                }

                """
            try configuration.write(toFile: folder + "/nginx.conf", atomically: true, encoding: .utf8)
            process.executableURL = URL(fileURLWithPath: nginx)
            process.arguments = ["-c", folder + "/nginx.conf", "-p", folder]
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Ready when it accepts a connection (bounded: 5 s).
            for _ in 0..<500 {
                if (try? HTTPSClient(host: "127.0.0.1", port: port, trusting: tls.certificatePath)
                    .send(method: "GET", target: "/ack").status) == 200
                {
                    return
                }
                usleep(10_000)
            }
            stop()
            throw CoalitionError(.io, "nginx did not start: \(folder)/error.log says why")
        }

        func stop() {
            guard process.isRunning else { return }
            process.terminate()
            process.waitUntilExit()
        }

        /// A loopback port free now.
        static func freePort() throws -> Int {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw CoalitionError(.io, "socket failed") }
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
                }
            }
            guard bound else { throw CoalitionError(.io, "cannot find a free loopback port") }
            return Int(UInt16(bigEndian: address.sin_port))
        }
    }
}
