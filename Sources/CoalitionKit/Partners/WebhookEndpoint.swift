import Foundation

/// Where a partner takes its events: an HTTPS URL, the file holding the webhook secret
/// (`whsec_…`, read by the server when it starts, never logged), and the PEM certificates to
/// trust for the receiver (the system's when nil).
package struct WebhookEndpoint: Hashable, Sendable {
    package let host: String
    package let port: Int
    package let path: String
    package let secretFile: String
    package let trustFile: String
    /// How many days ahead `points.expiring` looks.
    package let expiringWithinDays: Int64

    package init(
        host: String,
        port: Int,
        path: String,
        secretFile: String,
        trustFile: String = WebhookEndpoint.systemTrust,
        expiringWithinDays: Int64 = 30
    ) {
        self.host = host
        self.port = port
        self.path = path
        self.secretFile = secretFile
        self.trustFile = trustFile
        self.expiringWithinDays = expiringWithinDays
    }

    /// The parts of `https://host[:port][/path]` (an IPv6 host in brackets); nil for
    /// anything else. Only the URL's parts are set.
    package init?(url: String) {
        guard url.hasPrefix("https://") else { return nil }
        let rest = url.dropFirst("https://".count)
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count)
        var host = String(authority)
        var port = 443
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let after = host[host.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let given = Int(after.dropFirst()) else { return nil }
                port = given
            }
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":") {
            guard let given = Int(host[host.index(after: colon)...]) else { return nil }
            port = given
            host = String(host[..<colon])
        }
        guard !host.isEmpty, (1...65535).contains(port), !path.contains(" "), !path.contains("#") else { return nil }
        self.init(host: host, port: port, path: path.isEmpty ? "/" : String(path), secretFile: "")
    }

    /// The system's certificate bundle (Debian's `ca-certificates`).
    package static let systemTrust = "/etc/ssl/certs/ca-certificates.crt"

    package var url: String {
        let shown = host.contains(":") ? "[\(host)]" : host
        return "https://\(shown)\(port == 443 ? "" : ":\(port)")\(path)"
    }
}
