#ifndef C_COALITION_TLS_SHIM_H
#define C_COALITION_TLS_SHIM_H

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#endif
