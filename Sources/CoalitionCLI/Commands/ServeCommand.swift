import CoalitionFiles
import CoalitionKit
import CoalitionPostgreSQL
import CoalitionSQLite
import CoalitionServer
import Foundation

struct ServeCommand: Command {
    static let path = ["serve"]
    static let summary = "serve the network over HTTPS until SIGTERM or SIGINT"
    static let synopsis = ""
    static let options: [OptionSpec] = [
        .value("listen", "HOST:PORT", "the address to listen on (default 127.0.0.1:8443; [::1]:8443 for IPv6)"),
        .value("tls-cert", "PEM", "the TLS certificate chain (default: a self-signed demo certificate)"),
        .value("tls-key", "PEM", "the TLS private key, with --tls-cert"),
        .value("log", "FILE", "append one JSON line per request to FILE (created 0600) instead of standard error"),
        .flag("plain-http", "serve plain HTTP instead of TLS: only on a loopback address, behind a TLS proxy"),
        waitOption,
    ]
    static let discussion = """
        Serves HTTP/1.1 over TLS 1.2 and 1.3 on --listen until SIGTERM or SIGINT, then stops
        accepting, finishes the requests in flight, commits what was queued, saves the state
        and exits 0. Without --tls-cert it uses a self-signed demo certificate for localhost
        and 127.0.0.1, made on first use as DIR/tls/demo-cert.pem and DIR/tls/demo-key.pem
        (owner-only): trust it explicitly (`curl --cacert DIR/tls/demo-cert.pem`).
        GET /health answers {"status":"ok"}; GET /ready answers 200 once the ledger writer
        runs and the store answers; GET /metrics is in the Prometheus text format
        (docs/operations.md); the partner API is under /v1 (docs/api.md); the member pages
        under /member/ (docs/members.md); the operator dashboard under /operator/, signed in
        with a token from `coalition operator token create`. Each request is logged as one
        JSON line to standard error, or to --log FILE.
        On a ledger in PostgreSQL (`init --store`) several servers may run, on one data
        directory: the one holding the ledger's writer lease writes; the others are standbys
        that answer writes 503 STANDBY (/ready: 503 "standby") and take over within about
        4 s once the writer stops or dies (docs/operations.md).
        Partners whose configuration names a webhook are sent their events (docs/api.md,
        Webhooks) by a worker of the server; `coalition events` shows them.
        """

    static func run(_ context: Context) throws -> ExitCode {
        _ = try positional(context, count: 0)
        let data = context.data
        guard data.hasLedger else {
            throw CoalitionError(
                .noLedger,
                "no ledger in \(data.root): run `coalition init` or `coalition demo` first"
            )
        }
        let (host, port) = try listenAddress(context.arguments.value("listen") ?? "127.0.0.1:8443")
        var configuration = HTTPServerConfiguration(host: host, port: port, tls: try tlsFiles(context, data: data))
        configuration.log = { line in Output.error("coalition serve: \(line)") }
        if let conninfo = try data.postgreSQLConninfo() {
            return try serveWithLease(context, data: data, configuration: configuration, conninfo: conninfo)
        }
        // The server is the data directory's one writer for its whole life: CLI commands that
        // write are refused with LEDGER_BUSY while it runs. The writer owns the ledger from
        // here on: its DataDirectory registers nothing for `main` to save, since the writer
        // saves the state when it stops, before the lock is released.
        let lock = try WriterLock.acquire(dataDirectory: data.root, waitSeconds: try context.waitSeconds)
        defer { lock.release() }
        let writer = LedgerWriter(ledger: try DataDirectory(data.root).openLocked())
        // Events to partners: a worker beside the writer delivers the outbox (docs/api.md,
        // Webhooks); it stops before the writer does.
        let webhooks: WebhookDelivery
        do {
            webhooks = try WebhookDelivery(writer: writer) { Clock.now }
        } catch {
            try? writer.shutdown()
            throw error
        }
        let server = try HTTPServer(
            configuration: configuration,
            responder: try makeResponder(data, writer: writer, webhooks: webhooks, log: try requestLog(context))
        )
        webhooks.start { line in Output.error("coalition serve: \(line)") }
        let signals = ShutdownSignals { server.shutdown() }
        let scheme = server.isTLS ? "https" : "http"
        let shown = host.contains(":") ? "[\(host)]" : host
        Output.line("coalition serve: listening on \(scheme)://\(shown):\(server.port)")
        let served = Result { try server.run() }
        withExtendedLifetime(signals) {}
        webhooks.stop()
        // Whatever the requests in flight queued is committed before the state is saved.
        try writer.shutdown()
        try served.get()
        Output.line("coalition serve: stopped")
        return .success
    }

    /// Serves a ledger in PostgreSQL: the writer while this server holds the ledger's writer
    /// lease, a standby otherwise (`LeaseKeeper`). The data directory's `writer.lock` is not
    /// taken: the lease is what keeps servers (and, through it, commands) from writing at
    /// once, so several servers may share the directory.
    static func serveWithLease(
        _ context: Context,
        data: DataDirectory,
        configuration: HTTPServerConfiguration,
        conninfo: String
    ) throws -> ExitCode {
        let network = try NetworkLoader.load(directory: data.networkPath)
        let lease = try WriterLease(conninfo: conninfo, holder: leaseHolder())
        let writer = LedgerWriter(standbyFor: network)
        let root = data.root
        let keeper = LeaseKeeper(
            lease: lease,
            writer: writer,
            open: { epoch in
                let ledger = try DataDirectory(root).openLocked()
                guard let store = ledger.store as? PostgreSQLStore else {
                    throw CoalitionError(.storeFailure, "the ledger is no longer the one in PostgreSQL")
                }
                store.fence(epoch: epoch)
                return ledger
            },
            log: { Output.line("coalition serve: \($0)") }
        )
        let server = try HTTPServer(
            configuration: configuration,
            responder: try makeResponder(data, writer: writer, log: try requestLog(context))
        )
        let signals = ShutdownSignals { server.shutdown() }
        let scheme = server.isTLS ? "https" : "http"
        let shown = configuration.host.contains(":") ? "[\(configuration.host)]" : configuration.host
        Output.line("coalition serve: listening on \(scheme)://\(shown):\(server.port)")
        keeper.start()
        let served = Result { try server.run() }
        withExtendedLifetime(signals) {}
        // What the requests in flight queued is committed under the lease, then the lease
        // is given up, so a standby takes over at once.
        let shutDown = Result { try writer.shutdown() }
        keeper.stop()
        try shutDown.get()
        try served.get()
        Output.line("coalition serve: stopped")
        return .success
    }

    /// This process as the writer lease names it: host and process id.
    static func leaseHolder() -> String {
        var name = [CChar](repeating: 0, count: 256)
        let host =
            gethostname(&name, name.count - 1) == 0
            ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "unknown host"
        return "\(host) pid \(getpid())"
    }

    /// What answers requests: the one place where the server's routes are composed.
    static func makeResponder(
        _ data: DataDirectory,
        writer: LedgerWriter,
        webhooks: WebhookDelivery? = nil,
        log: RequestLog? = nil
    ) throws -> any HTTPResponder {
        let partnerAPI = try PartnerAPI(writer: writer, dataDirectory: data.root) { Clock.now }
        let metrics = RequestMetrics()
        let operations = OperationsEndpoints(metrics: metrics, writer: writer, webhooks: webhooks)
        let access = MemberAccess(file: CredentialFile(dataDirectory: data.root)) { Clock.now }
        let members = MemberAPI(access: access, writer: writer) { Clock.now }
        let pages = MemberPages(access: access, writer: writer) { Clock.now }
        let operatorPages = OperatorPages(
            access: OperatorAccess(dataDirectory: data.root) { Clock.now },
            writer: writer,
            rejectedFolder: data.path("rejected")
        ) { Clock.now }
        let routes = ServerResponder(
            partnerAPI: partnerAPI,
            operations: operations,
            members: members,
            memberPages: pages,
            operatorPages: operatorPages
        )
        return ObservedResponder(routes, metrics: metrics, log: log) { Clock.now }
    }

    /// The request log: the file named by --log, else standard error.
    static func requestLog(_ context: Context) throws -> RequestLog {
        guard let path = context.arguments.value("log") else { return RequestLog() }
        return try RequestLog(path: path)
    }

    /// `HOST:PORT`, `[IPv6]:PORT`.
    static func listenAddress(_ text: String) throws -> (String, Int) {
        let usage = CoalitionError(.usage, "--listen takes HOST:PORT (127.0.0.1:8443, [::1]:8443), not \(text)")
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { throw usage }
        var host = String(text[..<colon])
        if host.hasPrefix("[") {
            guard host.hasSuffix("]") else { throw usage }
            host = String(host.dropFirst().dropLast())
        }
        guard !host.isEmpty else { throw usage }
        return (host, port)
    }

    /// The certificate and key given, the demo pair (made on first use), or nil for plain
    /// HTTP.
    static func tlsFiles(_ context: Context, data: DataDirectory) throws -> HTTPServerConfiguration.TLSFiles? {
        let certificate = context.arguments.value("tls-cert")
        let key = context.arguments.value("tls-key")
        if context.arguments.has("plain-http") {
            guard certificate == nil, key == nil else {
                throw CoalitionError(.usage, "--plain-http takes no --tls-cert or --tls-key")
            }
            return nil
        }
        if let certificate, let key {
            return HTTPServerConfiguration.TLSFiles(certificatePath: certificate, keyPath: key)
        }
        guard certificate == nil, key == nil else {
            throw CoalitionError(.usage, "--tls-cert and --tls-key go together")
        }
        return try demoCertificate(data)
    }

    /// The data directory's self-signed demo pair, made on first use.
    static func demoCertificate(_ data: DataDirectory) throws -> HTTPServerConfiguration.TLSFiles {
        let folder = data.path("tls")
        let files = HTTPServerConfiguration.TLSFiles(
            certificatePath: (folder as NSString).appendingPathComponent("demo-cert.pem"),
            keyPath: (folder as NSString).appendingPathComponent("demo-key.pem")
        )
        let manager = FileManager.default
        let hasCertificate = manager.fileExists(atPath: files.certificatePath)
        guard hasCertificate != manager.fileExists(atPath: files.keyPath) else {
            if !hasCertificate { try makeDemoCertificate(files, folder: folder) }
            return files
        }
        throw CoalitionError(
            .io,
            "\(folder) holds only one of demo-cert.pem and demo-key.pem: remove it to make a new pair"
        )
    }

    static func makeDemoCertificate(_ files: HTTPServerConfiguration.TLSFiles, folder: String) throws {
        do {
            try FileManager.default.createDirectory(
                atPath: folder,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw CoalitionError(.io, "cannot create \(folder): \(error.localizedDescription)")
        }
        try makeSelfSignedCertificate(certificatePath: files.certificatePath, keyPath: files.keyPath)
        Output.line("coalition serve: made a self-signed demo certificate, \(files.certificatePath)")
    }
}
