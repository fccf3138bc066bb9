#ifndef C_COALITION_TLS_SHIM_H
#define C_COALITION_TLS_SHIM_H

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

// Function-like macros of libssl do not import into Swift: each is rebuilt here.

static inline int coalition_tls_set_protocol_range(SSL_CTX *ctx, int minimum, int maximum) {
    if (SSL_CTX_set_min_proto_version(ctx, minimum) != 1) return 0;
    return (int)SSL_CTX_set_max_proto_version(ctx, maximum);
}

static inline int coalition_tls_set_groups(SSL_CTX *ctx, const char *groups) {
    return (int)SSL_CTX_set1_groups_list(ctx, groups);
}

/// Server options: no compression, no renegotiation, the server's cipher order, a peer that
/// closes without a close_notify reads as the end of the stream (HTTP frames its own bodies).
static inline void coalition_tls_set_server_options(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE
                             | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

static inline void coalition_tls_set_client_options(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}

static inline int coalition_tls_set_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

static inline EVP_PKEY *coalition_tls_make_p256_key(void) {
    return EVP_EC_gen("P-256");
}

static inline int coalition_tls_mbstring_asc(void) {
    return MBSTRING_ASC;
}

#endif
