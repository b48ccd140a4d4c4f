#ifndef SWIFT_LWM2M_COPENSSL_SHIM_H
#define SWIFT_LWM2M_COPENSSL_SHIM_H

// OpenSSL (libssl/libcrypto) for DTLSTransport, with `static inline` wrappers for the macros Swift cannot call.

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include "prf_provider.h"

static inline long lwm2m_DTLS_set_link_mtu(SSL *ssl, long mtu) { return DTLS_set_link_mtu(ssl, mtu); }
static inline long lwm2m_DTLSv1_get_timeout(SSL *ssl, struct timeval *tv) { return DTLSv1_get_timeout(ssl, tv); }
static inline long lwm2m_DTLSv1_handle_timeout(SSL *ssl) { return DTLSv1_handle_timeout(ssl); }
static inline long lwm2m_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int v) {
    return SSL_CTX_set_min_proto_version(ctx, v);
}
static inline long lwm2m_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int v) {
    return SSL_CTX_set_max_proto_version(ctx, v);
}
static inline long lwm2m_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}
static inline int lwm2m_SSL_set_app_data(SSL *ssl, void *arg) { return SSL_set_app_data(ssl, arg); }
static inline void *lwm2m_SSL_get_app_data(const SSL *ssl) { return SSL_get_app_data(ssl); }
static inline int lwm2m_SSL_CTX_set_app_data(SSL_CTX *ctx, void *arg) { return SSL_CTX_set_app_data(ctx, arg); }
static inline void *lwm2m_SSL_CTX_get_app_data(const SSL_CTX *ctx) { return SSL_CTX_get_app_data(ctx); }
static inline void lwm2m_OPENSSL_free(void *p) { OPENSSL_free(p); }
static inline long lwm2m_SSL_CTX_set_options(SSL_CTX *ctx, uint64_t op) { return (long)SSL_CTX_set_options(ctx, op); }
static inline long lwm2m_SSL_set_mtu(SSL *ssl, long mtu) { return SSL_set_mtu(ssl, mtu); }
static inline long lwm2m_SSL_CTX_set_read_ahead(SSL_CTX *ctx, int yes) { return SSL_CTX_set_read_ahead(ctx, yes); }
static inline long lwm2m_SSL_CTX_sess_set_cache_size(SSL_CTX *ctx, long n) {
    return SSL_CTX_sess_set_cache_size(ctx, n);
}
static inline long lwm2m_SSL_CTX_set1_groups_list(SSL_CTX *ctx, const char *list) {
    return SSL_CTX_set1_groups_list(ctx, list);
}
static inline long lwm2m_SSL_CTX_add0_chain_cert(SSL_CTX *ctx, X509 *x509) { return SSL_CTX_add0_chain_cert(ctx, x509); }
static inline long lwm2m_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}
static inline void lwm2m_BIO_set_retry_read(BIO *b) { BIO_set_retry_read(b); }
static inline void lwm2m_BIO_clear_retry_flags(BIO *b) { BIO_clear_retry_flags(b); }
static inline long lwm2m_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
static inline long lwm2m_SSL_CTX_set_max_send_fragment(SSL_CTX *ctx, long m) {
    return SSL_CTX_set_max_send_fragment(ctx, m);
}
static const long lwm2m_SSL_MODE_RELEASE_BUFFERS = SSL_MODE_RELEASE_BUFFERS;
static inline int lwm2m_BIO_get_new_index(void) { return BIO_get_new_index(); }

// SHA-256 without EVP: the cookie HMAC starts from precomputed pad states, so a cookie costs two compressions
// instead of OpenSSL 3.0's MAC context copy (allocation, provider calls). The low-level functions are deprecated
// in 3.0 but stay available; the wrappers keep the deprecation warnings out of Swift.
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
static inline int lwm2m_SHA256_Init(SHA256_CTX *c) { return SHA256_Init(c); }
static inline int lwm2m_SHA256_Update(SHA256_CTX *c, const void *data, size_t length) {
    return SHA256_Update(c, data, length);
}
static inline int lwm2m_SHA256_Final(unsigned char *digest, SHA256_CTX *c) { return SHA256_Final(digest, c); }
#pragma clang diagnostic pop

static const uint64_t lwm2m_SSL_OP_NO_QUERY_MTU = SSL_OP_NO_QUERY_MTU;
static const uint64_t lwm2m_SSL_OP_COOKIE_EXCHANGE = SSL_OP_COOKIE_EXCHANGE;
static const uint64_t lwm2m_SSL_OP_NO_TICKET = SSL_OP_NO_TICKET;
static const uint64_t lwm2m_SSL_OP_NO_RENEGOTIATION = SSL_OP_NO_RENEGOTIATION;
static const uint64_t lwm2m_SSL_OP_NO_COMPRESSION = SSL_OP_NO_COMPRESSION;
static const int lwm2m_DTLS1_2_VERSION = DTLS1_2_VERSION;
static const int lwm2m_BIO_TYPE_SOURCE_SINK = BIO_TYPE_SOURCE_SINK;
static const int lwm2m_BIO_CTRL_DGRAM_QUERY_MTU = BIO_CTRL_DGRAM_QUERY_MTU;
static const int lwm2m_BIO_CTRL_DGRAM_GET_FALLBACK_MTU = BIO_CTRL_DGRAM_GET_FALLBACK_MTU;
static const int lwm2m_BIO_CTRL_DGRAM_GET_PEER = BIO_CTRL_DGRAM_GET_PEER;
static const int lwm2m_BIO_CTRL_DGRAM_SET_PEER = BIO_CTRL_DGRAM_SET_PEER;
static const int lwm2m_BIO_CTRL_DGRAM_GET_MTU_OVERHEAD = BIO_CTRL_DGRAM_GET_MTU_OVERHEAD;
static const int lwm2m_BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT = BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT;
static const int lwm2m_BIO_CTRL_WPENDING = BIO_CTRL_WPENDING;
static const int lwm2m_BIO_CTRL_PENDING = BIO_CTRL_PENDING;
static const int lwm2m_BIO_CTRL_FLUSH = BIO_CTRL_FLUSH;
static const int lwm2m_BIO_CTRL_DGRAM_MTU_EXCEEDED = BIO_CTRL_DGRAM_MTU_EXCEEDED;
static const int lwm2m_BIO_CTRL_DGRAM_SET_MTU = BIO_CTRL_DGRAM_SET_MTU;
static const int lwm2m_BIO_CTRL_DGRAM_GET_MTU = BIO_CTRL_DGRAM_GET_MTU;
static const int lwm2m_BIO_CTRL_DGRAM_SET_CONNECTED = BIO_CTRL_DGRAM_SET_CONNECTED;
static const int lwm2m_BIO_CTRL_PUSH = BIO_CTRL_PUSH;
static const int lwm2m_BIO_CTRL_POP = BIO_CTRL_POP;
static const int lwm2m_SSL_SESS_CACHE_OFF = SSL_SESS_CACHE_OFF;
static const int lwm2m_SSL_SESS_CACHE_CLIENT = SSL_SESS_CACHE_CLIENT;
static const int lwm2m_SSL_SESS_CACHE_SERVER = SSL_SESS_CACHE_SERVER;
static const int lwm2m_SSL_SESS_CACHE_NO_INTERNAL = SSL_SESS_CACHE_NO_INTERNAL;
static const int lwm2m_SSL_VERIFY_NONE = SSL_VERIFY_NONE;
static const int lwm2m_SSL_VERIFY_PEER = SSL_VERIFY_PEER;
static const int lwm2m_SSL_VERIFY_FAIL_IF_NO_PEER_CERT = SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
static const int lwm2m_SSL_ERROR_WANT_READ = SSL_ERROR_WANT_READ;
static const int lwm2m_SSL_ERROR_WANT_WRITE = SSL_ERROR_WANT_WRITE;
static const int lwm2m_SSL_ERROR_ZERO_RETURN = SSL_ERROR_ZERO_RETURN;
static const int lwm2m_SSL_ERROR_SSL = SSL_ERROR_SSL;
static const int lwm2m_SSL_ERROR_SYSCALL = SSL_ERROR_SYSCALL;
static const int lwm2m_SSL_RECEIVED_SHUTDOWN = SSL_RECEIVED_SHUTDOWN;
static const int lwm2m_X509_FILETYPE_PEM = X509_FILETYPE_PEM;
static const int lwm2m_SSL_CB_ALERT = SSL_CB_ALERT;
static const int lwm2m_SSL_CB_READ = SSL_CB_READ;
static const int lwm2m_NID_commonName = NID_commonName;

// The server transport sends its datagrams itself on the socket its NIO channel reads from (see
// DatagramSocketSender). Swift's Glibc module leaves out `sendmmsg` and `struct mmsghdr` (they need
// _GNU_SOURCE), so the call is declared here with glibc's signature, and `lwm2m_mmsghdr` has glibc's layout.
#if defined(__linux__)
#include <sys/socket.h>
struct mmsghdr;
extern int sendmmsg(int fd, struct mmsghdr *messages, unsigned int count, int flags);
typedef struct {
    struct msghdr msg_hdr;
    unsigned int msg_len;
} lwm2m_mmsghdr;
static inline int lwm2m_sendmmsg(int fd, lwm2m_mmsghdr *messages, unsigned int count, int flags) {
    return sendmmsg(fd, (struct mmsghdr *)messages, count, flags);
}
#endif

#endif
