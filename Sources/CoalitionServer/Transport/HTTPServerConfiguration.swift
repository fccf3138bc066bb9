import CoalitionKit

/// Where the server listens, how it secures its connections, and every bound it keeps.
/// The defaults suit partners' systems on the internet; tests shorten the times.
package struct HTTPServerConfiguration: Sendable {
    /// TLS certificate chain and private key, PEM files.
    package struct TLSFiles: Sendable {
        package var certificatePath: String
        package var keyPath: String

        package init(certificatePath: String, keyPath: String) {
            self.certificatePath = certificatePath
            self.keyPath = keyPath
        }
    }

    /// An IP address literal or `localhost`.
    package var host: String
    /// 0 asks the system for a free port (`HTTPServer.port` tells which).
    package var port: Int
    /// nil serves plain HTTP, which is refused unless `host` is a loopback address.
    package var tls: TLSFiles?
    package var limits = HTTPHeadLimits()
    /// Connections served at once; the next ones are answered 503 and closed.
    package var maximumConnections = 256
    /// From a connection's accept (TLS handshake included), or a request's first byte, to
    /// the end of its head.
    package var headerTimeout: Duration = .seconds(10)
    /// How long a kept-alive connection may wait for its next request.
    package var idleTimeout: Duration = .seconds(60)
    /// A body must arrive at this average rate, in bytes a second, after `bodyRateGrace`.
    package var minimumBodyRate = 4096
    package var bodyRateGrace: Duration = .seconds(5)
    /// How long writing an answer may take before the connection is dropped.
    package var writeTimeout: Duration = .seconds(30)
    /// How long a shutdown waits for requests in flight before it closes their connections.
    package var shutdownGrace: Duration = .seconds(8)
    /// Where the server reports what it refused and what failed, one line at a time: the
    /// peer's address, the status and reason code, OpenSSL's or the system's reason. Never
    /// a header value, a body byte or a key. By default, nowhere.
    package var log: @Sendable (String) -> Void = { _ in }

    package init(host: String, port: Int, tls: TLSFiles?) {
        self.host = host
        self.port = port
        self.tls = tls
    }
}
