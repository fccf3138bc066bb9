import CoalitionKit
import CoalitionTestSupport
import Foundation
import Synchronization
import Testing

@testable import CoalitionServer

@Suite("TLS: 1.2 and 1.3 with modern suites, older protocols refused", .serialized)
struct TLSTests {
    static var trust: String { TestCertificate.shared.files.certificatePath }

    @Test func aClientThatTrustsTheCertificateIsServedOverTLS13() throws {
        let server = try RunningServer(testConfiguration(tls: true), responder: ServerResponder())
        defer { server.stop() }
        let client = try TestClient(port: server.port, tls: TLSContext(trusting: Self.trust))
        #expect((client.stream as? TLSStream)?.protocolVersion == "TLSv1.3")
        for _ in 0..<2 {
            try client.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            let response = try #require(try client.response())
            #expect(response.status == 200)
            #expect(response.text == #"{"status":"ok"}"#)
        }
        // A malformed request over TLS gets its JSON answer like one over TCP.
        try client.send("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
        #expect(try client.response()?.errorCode == "CONFLICTING_CONTENT_LENGTH")
        #expect(client.isClosedByServer())
    }

    @Test func tls12IsServedAndTLS11IsRefused() throws {
        let server = try RunningServer(testConfiguration(tls: true), responder: ServerResponder())
        defer { server.stop() }
        let tls12 = try TestClient(
            port: server.port,
            tls: TLSContext(trusting: Self.trust, minimum: .tls1_2, maximum: .tls1_2)
        )
        #expect((tls12.stream as? TLSStream)?.protocolVersion == "TLSv1.2")
        // The same client offering TLS 1.1 only, at a security level that lets it offer it.
        let legacy = try TLSContext(trusting: Self.trust, minimum: .tls1_1, maximum: .tls1_1, allowingLegacy: true)
        #expect(throws: StreamFault.self) { _ = try TestClient(port: server.port, tls: legacy) }
        // And so does OpenSSL's own client.
        let openssl = try runProgram(
            "/usr/bin/openssl",
            [
                "s_client", "-connect", "127.0.0.1:\(server.port)", "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0",
                "-CAfile", Self.trust,
            ]
        )
        #expect(openssl.status != 0)
        #expect(openssl.output.contains("alert protocol version"))
        // TLS 1.2 without ECDHE, or without an AEAD cipher, is refused too.
        for cipher in ["AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-SHA"] {
            let weak = try runProgram(
                "/usr/bin/openssl",
                [
                    "s_client", "-connect", "127.0.0.1:\(server.port)", "-tls1_2", "-cipher", cipher, "-CAfile",
                    Self.trust,
                ]
            )
            #expect(weak.status != 0)
            #expect(weak.output.contains("handshake failure"))
        }
    }

    @Test func curlTrustingTheDemoCertificateGetsTheHealthAnswer() throws {
        let server = try RunningServer(testConfiguration(tls: true), responder: ServerResponder())
        defer { server.stop() }
        for version in [["--tlsv1.2", "--tls-max", "1.2"], ["--tlsv1.3"]] {
            let curl = try runProgram(
                "/usr/bin/curl",
                ["-sS", "--max-time", "10", "--cacert", Self.trust] + version + [
                    "https://localhost:\(server.port)/health", "https://127.0.0.1:\(server.port)/health",
                ]
            )
            #expect(curl.status == 0)
            #expect(curl.output == #"{"status":"ok"}{"status":"ok"}"#)
        }
        // A client that does not trust the certificate stops at the handshake.
        let untrusting = try runProgram(
            "/usr/bin/curl",
            ["-sS", "--max-time", "10", "https://localhost:\(server.port)/health"]
        )
        #expect(untrusting.status != 0)
    }

    @Test func aHandshakeThatDoesNotCompleteCannotHoldASlot() throws {
        var configuration = testConfiguration(tls: true)
        configuration.headerTimeout = .milliseconds(300)
        configuration.maximumConnections = 1
        let lines = Mutex<[String]>([])
        configuration.log = { line in lines.withLock { $0.append(line) } }
        let server = try RunningServer(configuration, responder: ServerResponder())
        defer { server.stop() }
        // A TCP client that never starts the handshake is closed after the header timeout.
        let silent = try TestClient(port: server.port)
        #expect(silent.isClosedByServer())
        // Plain HTTP sent to the TLS port fails the handshake, is closed, and is logged.
        let plain = try TestClient(port: server.port)
        try plain.send("GET /health HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(plain.isClosedByServer())
        #expect(waitUntil { lines.withLock { $0.contains { $0.contains("TLS handshake failed") } } })
        let tls = try TLSContext(trusting: Self.trust)
        #expect(waitUntil { (try? TestClient(port: server.port, tls: tls).exchange("/health")) == 200 })
    }

    @Test func theDemoKeyIsReadableByItsOwnerOnly() throws {
        let folder = makeTemporaryDirectory("demo-cert")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try makeSelfSignedCertificate(certificatePath: folder + "/c.pem", keyPath: folder + "/k.pem")
        for file in ["/c.pem", "/k.pem"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: folder + file)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
        }
        // It never overwrites.
        #expect(throws: CoalitionError.self) {
            try makeSelfSignedCertificate(certificatePath: folder + "/c.pem", keyPath: folder + "/k2.pem")
        }
        let text = try runProgram("/usr/bin/openssl", ["x509", "-in", folder + "/c.pem", "-noout", "-text"])
        #expect(text.output.contains("DNS:localhost, IP Address:127.0.0.1"))
        #expect(text.output.contains("prime256v1"))
    }
}
