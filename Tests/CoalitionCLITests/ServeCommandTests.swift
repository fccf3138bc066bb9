import CoalitionTestSupport
import Foundation
import Testing

@Suite("coalition serve: HTTPS with a demo certificate, a clean stop on SIGTERM", .serialized)
struct ServeCommandTests {
    let partners = CommandRunner.partnersDirectory

    /// Runs `curl` to its end, bounded: exit status and standard output.
    func curl(_ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-sS", "--max-time", "10"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    @Test("serve answers /ready and /metrics over HTTPS and logs each request to --log FILE")
    func readinessMetricsAndLog() throws {
        let work = try WorkDirectory()
        defer { work.remove() }
        let data = work.file("data")
        #expect(try work.coalition("init", "--partners", partners, data: data).status == 0)
        let log = work.file("requests.log")
        let (process, port) = try startServe(data: data, output: work.file("serve.out"), extra: ["--log", log])
        defer { if process.isRunning { process.terminate() } }
        let bound = try #require(port)
        let certificate = work.file("data", "tls", "demo-cert.pem")
        let ready = try curl(["--cacert", certificate, "https://localhost:\(bound)/ready"])
        #expect(ready.1 == #"{"status":"ready"}"#)
        let metrics = try curl(["--cacert", certificate, "https://localhost:\(bound)/metrics"])
        #expect(metrics.1.contains("\ncoalition_ledger_up 1\n"))
        #expect(metrics.1.contains(#"coalition_http_requests_total{route="/ready",method="GET",status="200"} 1"#))
        let missing = try curl(["--cacert", certificate, "https://localhost:\(bound)/v1/statements/12"])
        #expect(missing.1.contains("AUTH_MISSING"))
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let lines = String(decoding: FileManager.default.contents(atPath: log) ?? Data(), as: UTF8.self)
            .split(separator: "\n")
        #expect(lines.count == 3)
        let routes = try lines.map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])["route"] as? String
        }
        #expect(routes == ["/ready", "/metrics", "/v1/statements/{cycle}"])
        #expect((try FileManager.default.attributesOfItem(atPath: log)[.posixPermissions] as? Int) == 0o600)
    }

    @Test("serve makes a demo certificate, answers /health over HTTPS, exits 0 on SIGTERM")
    func serveAndStop() throws {
        let work = try WorkDirectory()
        defer { work.remove() }
        let data = work.file("data")
        let made = try work.coalition("init", "--partners", partners, data: data)
        #expect(made.status == 0, "\(made)")
        let executable = try #require(CommandRunner.executable)
        let output = work.file("serve.out")
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve", "--data", data, "--listen", "127.0.0.1:0"]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardError = process.standardOutput
        process.standardInput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        var port: String?
        for _ in 0..<1000 where port == nil {
            let text = String(decoding: FileManager.default.contents(atPath: output) ?? Data(), as: UTF8.self)
            if let range = text.range(of: "listening on https://127.0.0.1:") {
                port = String(text[range.upperBound...].prefix { $0.isNumber })
            } else {
                usleep(10_000)
            }
        }
        let bound = try #require(port)
        let certificate = work.file("data", "tls", "demo-cert.pem")
        let key = work.file("data", "tls", "demo-key.pem")
        #expect((try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int) == 0o600)
        let health = try curl(["--cacert", certificate, "https://localhost:\(bound)/health"])
        #expect(health.0 == 0)
        #expect(health.1 == #"{"status":"ok"}"#)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit)
        #expect(process.terminationStatus == 0)
        let text = String(decoding: FileManager.default.contents(atPath: output) ?? Data(), as: UTF8.self)
        #expect(text.contains("coalition serve: stopped"))
        // A second start uses the same certificate: no new one is made.
        let before = FileManager.default.contents(atPath: certificate)
        let again = try work.coalition("serve", "--listen", "127.0.0.1:99999", data: data)
        #expect(again.status == 2, "\(again)")
        #expect(FileManager.default.contents(atPath: certificate) == before)
    }

    @Test(
        "serve refuses plain HTTP off loopback, half a TLS pair, a bad address, and a directory without a ledger",
        arguments: [
            (["--plain-http", "--listen", "0.0.0.0:0"], Int32(2), "USAGE"),
            (["--tls-cert", "x.pem"], Int32(2), "USAGE"),
            (["--plain-http", "--tls-cert", "x.pem", "--tls-key", "y.pem"], Int32(2), "USAGE"),
            (["--listen", "localhost"], Int32(2), "USAGE"),
            (
                ["--tls-cert", "missing.pem", "--tls-key", "missing.pem", "--listen", "127.0.0.1:0"], Int32(4),
                "CRYPTO_FAILURE"
            ),
        ]
    )
    func refusals(arguments: [String], status: Int32, code: String) throws {
        let work = try WorkDirectory()
        defer { work.remove() }
        let data = work.file("data")
        #expect(try work.coalition("init", "--partners", partners, data: data).status == 0)
        let result = try CommandRunner.run(["serve", "--data", data] + arguments, in: work.path)
        #expect(result.status == status, "\(result)")
        #expect(result.stderr.contains(code), "\(result)")
        let empty = try CommandRunner.run(["serve", "--data", work.file("none")], in: work.path)
        #expect(empty.status == 3)
        #expect(empty.stderr.contains("NO_LEDGER"))
    }
}
