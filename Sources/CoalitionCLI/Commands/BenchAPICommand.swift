import CoalitionKit
import CoalitionSQLite
import CoalitionServer
import Foundation

/// `coalition bench api`: the partner API measured beside its limits in one run.
struct BenchAPICommand: Command {
    static let path = ["bench", "api"]
    static let summary = "measure the partner API: files over TLS against submit; acknowledgement fetches against nginx"
    static let synopsis = ""
    static let options: [OptionSpec] = [
        .value("records", "N", "records in the delivered settlement file (default 1,000,000)"),
        .value("members", "M", "members, each with a lot at every partner (default 100,000)"),
        .value("connections", "C", "wrk's keep-alive connections (default 64)"),
        .value("seconds", "S", "how long each wrk run lasts (default 10)"),
        .value("seed", "S", "the random seed (default 1)"),
    ]
    static let discussion = """
        Run it on a release build: `swift run -c release coalition bench api`. Two ledgers are
        set up alike (M members with a lot at every partner). One submits a signed file of N
        records locally, as `coalition submit` does; the other runs the server of
        `coalition serve` in this process on a loopback port with TLS, and a partner's client
        delivers the same file over HTTPS (upload, spool, verify, apply, durable commit, the
        signed acknowledgement back). Then `wrk` fetches a signed acknowledgement over C
        keep-alive TLS connections, and the same `wrk` fetches the same bytes as a static file
        from nginx over TLS with the same certificate, in the same run. wrk and nginx come from
        Debian (`apt-get install wrk nginx-light`); without them that half is skipped and said so.
        docs/performance.md has the figures of this machine.
        """

    struct Figures: Encodable {
        var records: Int
        var submitSeconds: Double
        var deliverSeconds: Double
        var submitRecordsPerSecond: Double
        var deliverRecordsPerSecond: Double
        var deliverToSubmit: Double
        var connections: Int
        var acknowledgementBytes: Int
        var serverRequestsPerSecond: Double?
        var nginxRequestsPerSecond: Double?
        var serverToNginx: Double?
        var serverLatency: String?
        var nginxLatency: String?
        /// CPU time per answered request (user and system, all threads or workers), in
        /// microseconds: what each side pays per request, much less swayed than a rate by
        /// whatever else the machine runs at the time.
        var serverCPUMicrosecondsPerRequest: Double?
        var nginxCPUMicrosecondsPerRequest: Double?
    }

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let records = try context.arguments.integer("records", default: 1_000_000, in: 1...100_000_000)
        let members = try context.arguments.integer("members", default: 100_000, in: 1...10_000_000)
        let connections = try context.arguments.integer("connections", default: 64, in: 1...1000)
        let seconds = try context.arguments.integer("seconds", default: 10, in: 1...600)
        let seed = UInt64(try context.arguments.integer("seed", default: 1, in: 0...Int.max))
        let root = NSTemporaryDirectory() + "coalition-bench-api-\(getpid())"
        try? FileManager.default.removeItem(atPath: root)
        defer { try? FileManager.default.removeItem(atPath: root) }
        func say(_ text: String) { if !context.json { Output.error(text) } }

        let bench = try BenchAPISetup(root: root, members: members, seed: seed)
        say("bench api: writing a signed file of \(records) records …")
        let file = try bench.writeFile(sequence: 1, records: records, seed: seed)
        say("bench api: submitting it locally …")
        let submitSeconds = try bench.submitLocally(file)
        say("bench api: delivering it over HTTPS to the server …")
        let served = try bench.startServer()
        defer { served.stop() }
        let deliverSeconds = try served.deliver(file)
        let small = try bench.writeFile(sequence: 2, records: 100, seed: seed + 1)
        _ = try served.deliver(small)
        let acknowledgement = served.acknowledgementPath(sequence: 2)
        var figures = Figures(
            records: records,
            submitSeconds: submitSeconds,
            deliverSeconds: deliverSeconds,
            submitRecordsPerSecond: Double(records) / submitSeconds,
            deliverRecordsPerSecond: Double(records) / deliverSeconds,
            deliverToSubmit: submitSeconds / deliverSeconds,
            connections: connections,
            acknowledgementBytes: (try? Data(contentsOf: URL(fileURLWithPath: acknowledgement)).count) ?? 0
        )
        if let wrk = LoadTools.wrk, let nginx = LoadTools.nginx {
            say("bench api: wrk against the server, \(connections) connections, \(seconds) s …")
            let target = "/v1/acknowledgements/2"
            let serverCPU = LoadTools.ownCPUSeconds()
            let server = try LoadTools.runWrk(
                wrk,
                url: "https://127.0.0.1:\(served.port)\(target)",
                headers: try served.signedHeaders(target),
                connections: connections,
                seconds: seconds
            )
            let serverCPUSeconds = LoadTools.ownCPUSeconds() - serverCPU
            say("bench api: wrk against nginx serving the same bytes …")
            let nginxRun = try LoadTools.NginxRun(
                nginx,
                folder: root + "/nginx",
                file: acknowledgement,
                tls: served.tls
            )
            defer { nginxRun.stop() }
            let nginxCPU = LoadTools.cpuSeconds(ofTree: nginxRun.process.processIdentifier)
            let static_ = try LoadTools.runWrk(
                wrk,
                url: "https://127.0.0.1:\(nginxRun.port)/ack",
                headers: [],
                connections: connections,
                seconds: seconds
            )
            let nginxCPUSeconds = LoadTools.cpuSeconds(ofTree: nginxRun.process.processIdentifier) - nginxCPU
            figures.serverCPUMicrosecondsPerRequest =
                serverCPUSeconds * 1e6 / (server.requestsPerSecond * Double(seconds))
            figures.nginxCPUMicrosecondsPerRequest =
                nginxCPUSeconds * 1e6 / (static_.requestsPerSecond * Double(seconds))
            figures.serverRequestsPerSecond = server.requestsPerSecond
            figures.nginxRequestsPerSecond = static_.requestsPerSecond
            figures.serverToNginx = server.requestsPerSecond / static_.requestsPerSecond
            figures.serverLatency = server.latency
            figures.nginxLatency = static_.latency
        } else {
            say("bench api: wrk or nginx is not installed (apt-get install wrk nginx-light): the fetch rate is skipped")
        }
        print(figures, json: context.json)
        return .success
    }

    static func print(_ figures: Figures, json: Bool) {
        if json {
            Output.json(figures)
            return
        }
        var table = TextTable(["measure", "result", "notes"])
        func rate(_ value: Double) -> String { Points.grouped(Int64(value.rounded())) + " records/s" }
        table.add(["submit (local)", rate(figures.submitRecordsPerSecond), "\(figures.records) records"])
        table.add([
            "delivered over HTTPS", rate(figures.deliverRecordsPerSecond),
            String(format: "%.2f of submit (target 0.8)", figures.deliverToSubmit),
        ])
        if let server = figures.serverRequestsPerSecond, let nginx = figures.nginxRequestsPerSecond {
            table.add([
                "ack fetch, server", Points.grouped(Int64(server.rounded())) + " req/s",
                "\(figures.connections) TLS keep-alive, latency \(figures.serverLatency ?? "?")",
            ])
            table.add([
                "same bytes, nginx", Points.grouped(Int64(nginx.rounded())) + " req/s",
                "\(figures.acknowledgementBytes) bytes, latency \(figures.nginxLatency ?? "?")",
            ])
            table.add(["server / nginx", String(format: "%.2f", figures.serverToNginx ?? 0), "target 0.5"])
            if let server = figures.serverCPUMicrosecondsPerRequest, let nginx = figures.nginxCPUMicrosecondsPerRequest
            {
                table.add([
                    "CPU per request", String(format: "%.0f µs server, %.0f µs nginx", server, nginx),
                    String(format: "nginx / server %.2f", nginx / server),
                ])
            }
        }
        Output.line(table.render(indent: "", width: 100))
    }
}
