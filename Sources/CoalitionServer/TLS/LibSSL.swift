import CCoalitionTLS
import CoalitionKit
import Glibc

/// The one file that talks to libssl: TLS contexts and streams, and the self-signed demo
/// certificate. Every call's result is checked; OpenSSL's reason goes into the error, never
/// a key's bytes.

/// OpenSSL's oldest queued error as a `CRYPTO_FAILURE`, and the queue cleared.
private func tlsError(_ what: String) -> CoalitionError {
    let code = ERR_get_error()
    ERR_clear_error()
    guard code != 0 else { return CoalitionError(.crypto, "\(what) failed") }
    var text = [CChar](repeating: 0, count: 256)
    ERR_error_string_n(code, &text, text.count)
    return CoalitionError(.crypto, "\(what) failed: \(cString(text))")
}

/// The TLS protocol versions this code names.
package enum TLSProtocolVersion: Sendable {
    case tls1_1, tls1_2, tls1_3

    var wireValue: Int32 {
        switch self {
        case .tls1_1: TLS1_1_VERSION
        case .tls1_2: TLS1_2_VERSION
        case .tls1_3: TLS1_3_VERSION
        }
    }
}

/// A configured libssl context. Immutable once made, and libssl allows `SSL_new` from many
/// threads on one context: hence `@unchecked Sendable`.
final class TLSContext: @unchecked Sendable {
    /// ECDHE key exchange with AEAD ciphers only, for TLS 1.2 (TLS 1.3's suites are all AEAD).
    static let tls12Ciphers = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")
    static let tls13Suites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

    private let context: OpaquePointer
    private let isServer: Bool

    private init(method: OpaquePointer?, isServer: Bool) throws(CoalitionError) {
        ERR_clear_error()
        guard let method, let context = SSL_CTX_new(method) else { throw tlsError("SSL_CTX_new") }
        self.context = context
        self.isServer = isServer
    }

    /// A server context: TLS 1.2 and 1.3, modern suites, the certificate chain and key from
    /// PEM files (the key must match the certificate).
    convenience init(certificatePath: String, keyPath: String) throws(CoalitionError) {
        try self.init(method: TLS_server_method(), isServer: true)
        coalition_tls_set_server_options(context)
        try configure(minimum: .tls1_2, maximum: .tls1_3, ciphers: Self.tls12Ciphers)
        guard SSL_CTX_use_certificate_chain_file(context, certificatePath) == 1 else {
            throw tlsError("reading the TLS certificate \(certificatePath)")
        }
        guard SSL_CTX_use_PrivateKey_file(context, keyPath, SSL_FILETYPE_PEM) == 1 else {
            throw tlsError("reading the TLS key \(keyPath)")
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw tlsError("checking the TLS key against the certificate")
        }
    }

    /// A client context (tests, the benchmark) that trusts the certificates in `trusting`.
    /// `allowingLegacy` lowers the security level so that an old protocol is really offered.
    package convenience init(
        trusting caPath: String,
        minimum: TLSProtocolVersion = .tls1_2,
        maximum: TLSProtocolVersion = .tls1_3,
        allowingLegacy: Bool = false
    ) throws(CoalitionError) {
        try self.init(method: TLS_client_method(), isServer: false)
        coalition_tls_set_client_options(context)
        if allowingLegacy { SSL_CTX_set_security_level(context, 0) }
        try configure(
            minimum: minimum,
            maximum: maximum,
            ciphers: allowingLegacy ? "DEFAULT:@SECLEVEL=0" : Self.tls12Ciphers
        )
        guard SSL_CTX_load_verify_locations(context, caPath, nil) == 1 else {
            throw tlsError("reading the trusted certificates \(caPath)")
        }
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
    }

    private func configure(
        minimum: TLSProtocolVersion,
        maximum: TLSProtocolVersion,
        ciphers: String
    )
        throws(CoalitionError)
    {
        guard coalition_tls_set_protocol_range(context, minimum.wireValue, maximum.wireValue) == 1 else {
            throw tlsError("setting the TLS protocol versions")
        }
        guard SSL_CTX_set_cipher_list(context, ciphers) == 1 else { throw tlsError("setting the TLS 1.2 ciphers") }
        guard SSL_CTX_set_ciphersuites(context, Self.tls13Suites) == 1 else {
            throw tlsError("setting the TLS 1.3 cipher suites")
        }
        guard coalition_tls_set_groups(context, "X25519:P-256:P-384") == 1 else {
            throw tlsError("setting the key exchange groups")
        }
    }

    deinit { SSL_CTX_free(context) }

    /// A stream over the connected, non-blocking socket `descriptor`; it owns the socket.
    /// A client stream checks the server's certificate names `hostName`.
    func makeStream(descriptor: Int32, hostName: String? = nil) throws(CoalitionError) -> TLSStream {
        ERR_clear_error()
        guard let ssl = SSL_new(context) else { throw tlsError("SSL_new") }
        guard SSL_set_fd(ssl, descriptor) == 1 else {
            SSL_free(ssl)
            throw tlsError("SSL_set_fd")
        }
        if let hostName {
            guard coalition_tls_set_host_name(ssl, hostName) == 1, SSL_set1_host(ssl, hostName) == 1 else {
                SSL_free(ssl)
                throw tlsError("setting the server name")
            }
        }
        return TLSStream(ssl: ssl, descriptor: descriptor, context: self, isServer: isServer)
    }
}

/// One TLS connection over a non-blocking socket.
final class TLSStream: ByteStream {
    let descriptor: Int32
    private let ssl: OpaquePointer
    private let isServer: Bool
    /// Keeps the context alive as long as the connection.
    private let context: TLSContext
    private var isClosed = false
    private let scratch = ReadScratch()

    fileprivate init(ssl: OpaquePointer, descriptor: Int32, context: TLSContext, isServer: Bool) {
        self.ssl = ssl
        self.descriptor = descriptor
        self.context = context
        self.isServer = isServer
    }

    deinit {
        if !isClosed { close(linger: Deadline.after(.zero)) }
    }

    /// The negotiated protocol, `TLSv1.3` or `TLSv1.2`.
    package var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    func handshake(until deadline: Deadline) throws(StreamFault) {
        while true {
            ERR_clear_error()
            let result = isServer ? SSL_accept(ssl) : SSL_connect(ssl)
            if result == 1 { return }
            try settle(result, "TLS handshake", until: deadline, wake: nil)
        }
    }

    func read(
        into buffer: inout [UInt8],
        maximum: Int,
        until deadline: Deadline,
        wake: Int32?
    ) throws(StreamFault)
        -> Int
    {
        while true {
            ERR_clear_error()
            let (result, count) = scratch.read(appendingTo: &buffer, maximum: maximum) { memory, maximum in
                var count = 0
                let result = SSL_read_ex(ssl, memory, maximum, &count)
                return ((result, count), result == 1 ? count : 0)
            }
            if result == 1 { return count }
            if SSL_get_error(ssl, result) == SSL_ERROR_ZERO_RETURN { return 0 }
            try settle(result, "TLS read", until: deadline, wake: wake)
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, until deadline: Deadline) throws(StreamFault) {
        var sent = 0
        while sent < bytes.count {
            ERR_clear_error()
            var count = 0
            let result = SSL_write_ex(ssl, bytes.baseAddress! + sent, bytes.count - sent, &count)
            if result == 1 {
                sent += count
                continue
            }
            try settle(result, "TLS write", until: deadline, wake: nil)
        }
    }

    /// After a call that did not complete: waits for the socket when libssl asks to, or
    /// throws what went wrong.
    private func settle(_ result: Int32, _ what: String, until deadline: Deadline, wake: Int32?) throws(StreamFault) {
        let code = errno
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ: try awaitSocket(descriptor, writing: false, until: deadline, wake: wake)
        case SSL_ERROR_WANT_WRITE: try awaitSocket(descriptor, writing: true, until: deadline, wake: wake)
        case SSL_ERROR_ZERO_RETURN: throw .closed
        case SSL_ERROR_SYSCALL:
            ERR_clear_error()
            if code == EINTR { return }
            if code == 0 || code == ECONNRESET || code == EPIPE { throw .closed }
            throw .failed(systemError(what, code))
        default:
            throw .failed(tlsError(what))
        }
    }

    func close(linger: Deadline) {
        guard !isClosed else { return }
        isClosed = true
        ERR_clear_error()
        // One close_notify, best effort: the peer may be gone already.
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
        SSL_free(ssl)
        lingerAndClose(descriptor, until: linger)
    }
}

/// A self-signed certificate for demos and tests: a P-256 key and an X.509 v3 certificate
/// for `localhost`, 127.0.0.1 and ::1, valid for `days`, each written to a new file readable
/// by its owner only. Browsers and partners must be told to trust it explicitly.
package func makeSelfSignedCertificate(
    certificatePath: String,
    keyPath: String,
    days: Int = 365
)
    throws(CoalitionError)
{
    ERR_clear_error()
    guard let key = coalition_tls_make_p256_key() else { throw tlsError("making a P-256 key") }
    defer { EVP_PKEY_free(key) }
    guard let certificate = X509_new() else { throw tlsError("X509_new") }
    defer { X509_free(certificate) }
    guard X509_set_version(certificate, 2) == 1 else { throw tlsError("setting the certificate version") }
    try setRandomSerial(certificate)
    guard X509_gmtime_adj(X509_getm_notBefore(certificate), -3600) != nil,
        X509_gmtime_adj(X509_getm_notAfter(certificate), days * 86400) != nil
    else { throw tlsError("setting the certificate's validity") }
    guard X509_set_pubkey(certificate, key) == 1 else { throw tlsError("setting the certificate's key") }
    let name = X509_get_subject_name(certificate)
    guard X509_NAME_add_entry_by_txt(name, "CN", coalition_tls_mbstring_asc(), "localhost", -1, -1, 0) == 1,
        X509_set_issuer_name(certificate, name) == 1
    else { throw tlsError("naming the certificate") }
    let extensions: [(Int32, String)] = [
        (NID_basic_constraints, "critical,CA:FALSE"),
        (NID_key_usage, "critical,digitalSignature"),
        (NID_ext_key_usage, "serverAuth"),
        (NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"),
    ]
    for (nid, value) in extensions {
        var context = X509V3_CTX()
        X509V3_set_ctx(&context, certificate, certificate, nil, nil, 0)
        guard let ext = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
            throw tlsError("making a certificate extension")
        }
        defer { X509_EXTENSION_free(ext) }
        guard X509_add_ext(certificate, ext, -1) == 1 else { throw tlsError("adding a certificate extension") }
    }
    guard X509_sign(certificate, key, EVP_sha256()) > 0 else { throw tlsError("signing the certificate") }
    let keyPEM = try pemBytes { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) }
    let certificatePEM = try pemBytes { PEM_write_bio_X509($0, certificate) }
    try writeOwnerOnlyFile(keyPath, keyPEM)
    try writeOwnerOnlyFile(certificatePath, certificatePEM)
}

private func setRandomSerial(_ certificate: OpaquePointer) throws(CoalitionError) {
    var serial = [UInt8](repeating: 0, count: 16)
    guard RAND_bytes(&serial, Int32(serial.count)) == 1 else { throw tlsError("drawing a serial number") }
    serial[0] &= 0x7F
    guard let number = BN_bin2bn(serial, Int32(serial.count), nil) else { throw tlsError("BN_bin2bn") }
    defer { BN_free(number) }
    guard BN_to_ASN1_INTEGER(number, X509_get_serialNumber(certificate)) != nil else {
        throw tlsError("setting the serial number")
    }
}

/// What `write` puts into a memory BIO, as bytes.
private func pemBytes(_ write: (OpaquePointer) -> Int32) throws(CoalitionError) -> [UInt8] {
    guard let bio = BIO_new(BIO_s_mem()) else { throw tlsError("BIO_new") }
    defer { BIO_free(bio) }
    guard write(bio) == 1 else { throw tlsError("writing PEM") }
    let size = Int(BIO_ctrl_pending(bio))
    var bytes = [UInt8](repeating: 0, count: size)
    guard BIO_read(bio, &bytes, Int32(size)) == Int32(size) else { throw tlsError("reading PEM") }
    return bytes
}
