#ifndef SWIFT_LWM2M_COPENSSL_PRF_PROVIDER_H
#define SWIFT_LWM2M_COPENSSL_PRF_PROVIDER_H

// A small OpenSSL 3 provider: the TLS 1.2 PRF (RFC 5246 section 5) with SHA-256, under the name "TLS1-PRF" and the
// property "provider=lwm2m-prf", plus the default provider's EC key management, ECDH and ECDSA with two changes
// (see "EC key management" below).
//
// Why: OpenSSL 3.0's own TLS1-PRF goes through EVP_MAC for every HMAC it computes (a MAC context copy, init, final
// and free per block, each through the provider layer, with cleanses and allocations), and libssl calls the PRF
// four times in a DTLS 1.2 server handshake (extended master secret, key block, both Finished). That machinery
// cost more than half of the server's instructions per PSK handshake. This implementation computes the same bytes
// from precomputed HMAC pad states with the low-level SHA-256 functions (the same block function OpenSSL uses),
// without allocating per block.
//
// The DTLS contexts of DTLSTransport live in their own OSSL_LIB_CTX that has this provider and the default
// provider loaded, and ask for "?provider=lwm2m-prf" (a preference, not a requirement), so libssl's fetches of the
// PRF and of EC keys, ECDH and ECDSA find this provider; everything else comes from the default provider. Digests
// other than SHA-256 (not used by the RFC 7925 cipher suites) are handed to the default provider's TLS1-PRF.

#include <string.h>
#include <strings.h>
#include <openssl/core.h>
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/sha.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/bn.h>

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
#pragma clang diagnostic ignored "-Wunused-function"

/// The largest seed accepted (label + randoms + session hash, or an exporter's label and context).
#define LWM2M_PRF_MAX_SEED 1024

/// Secrets up to this length (master secrets, PSK and ECDHE premaster secrets) live in the context itself.
#define LWM2M_PRF_INLINE_SECRET 64

typedef struct {
    /// The secret: `inline_secret` or, when longer, an allocation of its own; NULL until set.
    unsigned char *secret;
    size_t secret_length;
    unsigned char inline_secret[LWM2M_PRF_INLINE_SECRET];
    unsigned char seed[LWM2M_PRF_MAX_SEED];
    size_t seed_length;
    /// The digest name when it is not SHA-256 (then the default provider derives), else empty.
    char other_digest[64];
    int has_digest;
} lwm2m_prf_ctx;

/// HMAC-SHA256 keyed state: SHA-256 after the inner and after the outer key pad.
typedef struct {
    SHA256_CTX inner;
    SHA256_CTX outer;
} lwm2m_hmac_sha256;

static inline void lwm2m_hmac_sha256_init(lwm2m_hmac_sha256 *hmac, const unsigned char *key, size_t length) {
    unsigned char block[SHA256_CBLOCK];
    unsigned char pad[SHA256_CBLOCK];
    memset(block, 0, sizeof(block));
    if (length > SHA256_CBLOCK) {
        SHA256(key, length, block);  // RFC 2104: longer keys are hashed first
    } else if (length > 0) {
        memcpy(block, key, length);
    }
    for (size_t i = 0; i < SHA256_CBLOCK; i++) pad[i] = block[i] ^ 0x36;
    SHA256_Init(&hmac->inner);
    SHA256_Update(&hmac->inner, pad, SHA256_CBLOCK);
    for (size_t i = 0; i < SHA256_CBLOCK; i++) pad[i] = block[i] ^ 0x5c;
    SHA256_Init(&hmac->outer);
    SHA256_Update(&hmac->outer, pad, SHA256_CBLOCK);
    OPENSSL_cleanse(block, sizeof(block));
    OPENSSL_cleanse(pad, sizeof(pad));
}

/// Finishes an HMAC whose inner state `inner` has absorbed the message; writes 32 bytes to `out`. `outer` is
/// scratch space for the outer hash (the caller wipes it).
static inline void lwm2m_hmac_sha256_final(const lwm2m_hmac_sha256 *hmac, SHA256_CTX *inner, SHA256_CTX *outer,
                                           unsigned char *out) {
    *outer = hmac->outer;
    SHA256_Final(out, inner);
    SHA256_Update(outer, out, SHA256_DIGEST_LENGTH);
    SHA256_Final(out, outer);
}

/// Recently used PRF secrets of this thread with their HMAC pad states.
///
/// libssl derives the key block and both Finished messages from the same 48-byte master secret, one PRF call (and
/// one new KDF context) each, so their HMAC pad states (two SHA-256 compressions per call) are kept here between
/// the calls. An entry is wiped after `LWM2M_PRF_CACHE_USES` uses (a handshake uses its master secret three times)
/// or when a newer secret takes its slot; each thread has its own entries.
#define LWM2M_PRF_CACHE_ENTRIES 4
#define LWM2M_PRF_CACHE_USES 3
#define LWM2M_PRF_CACHED_SECRET 48

typedef struct {
    /// How many more times the entry may be used; 0 marks an empty slot.
    unsigned uses_left;
    unsigned char secret[LWM2M_PRF_CACHED_SECRET];
    lwm2m_hmac_sha256 hmac;
} lwm2m_prf_cache_entry;

typedef struct {
    lwm2m_prf_cache_entry entries[LWM2M_PRF_CACHE_ENTRIES];
    unsigned next;
} lwm2m_prf_cache;

/// This thread's cache (a function-local static: Swift's importer emits those, not header-level statics).
static inline lwm2m_prf_cache *lwm2m_prf_thread_cache(void) {
    static _Thread_local lwm2m_prf_cache cache;
    return &cache;
}

/// The keyed HMAC state of `secret`: from this thread's cache when it holds the secret, else computed (and cached
/// when the secret has a master secret's length).
static inline void lwm2m_prf_hmac_for(const unsigned char *secret, size_t secret_length, lwm2m_hmac_sha256 *hmac) {
    if (secret_length != LWM2M_PRF_CACHED_SECRET) {
        lwm2m_hmac_sha256_init(hmac, secret, secret_length);
        return;
    }
    lwm2m_prf_cache *cache = lwm2m_prf_thread_cache();
    for (unsigned i = 0; i < LWM2M_PRF_CACHE_ENTRIES; i++) {
        lwm2m_prf_cache_entry *entry = &cache->entries[i];
        if (entry->uses_left == 0 || CRYPTO_memcmp(entry->secret, secret, LWM2M_PRF_CACHED_SECRET) != 0) continue;
        *hmac = entry->hmac;
        if (--entry->uses_left == 0) OPENSSL_cleanse(entry, sizeof(*entry));
        return;
    }
    lwm2m_hmac_sha256_init(hmac, secret, secret_length);
    lwm2m_prf_cache_entry *entry = &cache->entries[cache->next];
    cache->next = (cache->next + 1) % LWM2M_PRF_CACHE_ENTRIES;
    memcpy(entry->secret, secret, LWM2M_PRF_CACHED_SECRET);
    entry->hmac = *hmac;
    entry->uses_left = LWM2M_PRF_CACHE_USES - 1;
}

/// P_SHA256(secret, seed) (RFC 5246 section 5): A(0) = seed, A(i) = HMAC(secret, A(i-1)),
/// output = HMAC(secret, A(1) + seed) + HMAC(secret, A(2) + seed) + ...
static inline void lwm2m_p_sha256(const unsigned char *secret, size_t secret_length, const unsigned char *seed,
                                  size_t seed_length, unsigned char *out, size_t length) {
    // Everything secret-derived lives in one struct, wiped once at the end.
    struct {
        lwm2m_hmac_sha256 hmac;
        SHA256_CTX state, next, outer;
        unsigned char a[SHA256_DIGEST_LENGTH];
        unsigned char block[SHA256_DIGEST_LENGTH];
    } work;
    lwm2m_prf_hmac_for(secret, secret_length, &work.hmac);
    work.state = work.hmac.inner;
    SHA256_Update(&work.state, seed, seed_length);
    lwm2m_hmac_sha256_final(&work.hmac, &work.state, &work.outer, work.a);  // A(1)
    while (length > 0) {
        work.state = work.hmac.inner;
        SHA256_Update(&work.state, work.a, sizeof(work.a));
        work.next = work.state;  // HMAC(A(i)) shares the inner state up to here
        SHA256_Update(&work.state, seed, seed_length);
        size_t count = length < SHA256_DIGEST_LENGTH ? length : SHA256_DIGEST_LENGTH;
        if (count == SHA256_DIGEST_LENGTH) {
            lwm2m_hmac_sha256_final(&work.hmac, &work.state, &work.outer, out);
        } else {
            lwm2m_hmac_sha256_final(&work.hmac, &work.state, &work.outer, work.block);
            memcpy(out, work.block, count);
        }
        out += count;
        length -= count;
        if (length > 0) lwm2m_hmac_sha256_final(&work.hmac, &work.next, &work.outer, work.a);  // A(i+1)
    }
    OPENSSL_cleanse(&work, sizeof(work));
}

static inline int lwm2m_prf_is_sha256(const char *name) {
    return strcasecmp(name, "SHA256") == 0 || strcasecmp(name, "SHA2-256") == 0 || strcasecmp(name, "SHA-256") == 0;
}

/// Wipes and releases the context's secret.
static inline void lwm2m_prf_forget_secret(lwm2m_prf_ctx *ctx) {
    if (ctx->secret == ctx->inline_secret) {
        OPENSSL_cleanse(ctx->inline_secret, ctx->secret_length);
    } else {
        OPENSSL_clear_free(ctx->secret, ctx->secret_length);
    }
    ctx->secret = NULL;
    ctx->secret_length = 0;
}

static inline void *lwm2m_prf_newctx(void *provctx) {
    (void)provctx;
    // Not zero-filled: the seed buffer is only read up to seed_length.
    lwm2m_prf_ctx *ctx = (lwm2m_prf_ctx *)OPENSSL_malloc(sizeof(lwm2m_prf_ctx));
    if (ctx == NULL) return NULL;
    ctx->secret = NULL;
    ctx->secret_length = 0;
    ctx->seed_length = 0;
    memset(ctx->other_digest, 0, sizeof(ctx->other_digest));
    ctx->has_digest = 0;
    return ctx;
}

static inline void lwm2m_prf_reset(void *vctx) {
    lwm2m_prf_ctx *ctx = (lwm2m_prf_ctx *)vctx;
    lwm2m_prf_forget_secret(ctx);
    // Only the seed bytes in use were ever written (set_ctx_params wipes a seed it replaces).
    OPENSSL_cleanse(ctx->seed, ctx->seed_length);
    ctx->seed_length = 0;
    memset(ctx->other_digest, 0, sizeof(ctx->other_digest));
    ctx->has_digest = 0;
}

static inline void lwm2m_prf_freectx(void *vctx) {
    if (vctx == NULL) return;
    lwm2m_prf_reset(vctx);
    OPENSSL_free(vctx);
}

static inline void *lwm2m_prf_dupctx(void *vctx) {
    const lwm2m_prf_ctx *ctx = (const lwm2m_prf_ctx *)vctx;
    lwm2m_prf_ctx *copy = (lwm2m_prf_ctx *)OPENSSL_malloc(sizeof(lwm2m_prf_ctx));
    if (copy == NULL) return NULL;
    memcpy(copy, ctx, sizeof(*ctx));
    copy->secret = NULL;
    if (ctx->secret == ctx->inline_secret) {
        copy->secret = copy->inline_secret;
    } else if (ctx->secret != NULL) {
        copy->secret = (unsigned char *)OPENSSL_memdup(ctx->secret, ctx->secret_length);
        if (copy->secret == NULL) {
            OPENSSL_cleanse(copy, sizeof(*copy));
            OPENSSL_free(copy);
            return NULL;
        }
    }
    return copy;
}

/// Which parameter `key` names: 1 the digest, 2 the secret, 3 a seed, 0 another one. Tests the first letters before
/// one strcmp (libssl passes seven or eight parameters per PRF call).
static inline int lwm2m_prf_parameter(const char *key) {
    if (key[0] == 'd') return strcmp(key, OSSL_KDF_PARAM_DIGEST) == 0 ? 1 : 0;
    if (key[0] != 's' || key[1] != 'e') return 0;
    if (key[2] == 'c') return strcmp(key, OSSL_KDF_PARAM_SECRET) == 0 ? 2 : 0;
    if (key[2] == 'e') return strcmp(key, OSSL_KDF_PARAM_SEED) == 0 ? 3 : 0;
    return 0;
}

static inline int lwm2m_prf_set_ctx_params(void *vctx, const OSSL_PARAM params[]) {
    lwm2m_prf_ctx *ctx = (lwm2m_prf_ctx *)vctx;
    int seen_seed = 0;
    if (params == NULL) return 1;
    for (const OSSL_PARAM *p = params; p->key != NULL; p++) {
        int parameter = lwm2m_prf_parameter(p->key);
        if (parameter == 1) {
            if (p->data_type != OSSL_PARAM_UTF8_STRING || p->data == NULL) return 0;
            // data_size need not count a terminating NUL: copy at most data_size bytes and terminate.
            size_t length = strnlen((const char *)p->data, p->data_size);
            if (length >= sizeof(ctx->other_digest)) return 0;
            memcpy(ctx->other_digest, p->data, length);
            ctx->other_digest[length] = 0;
            if (lwm2m_prf_is_sha256(ctx->other_digest)) ctx->other_digest[0] = 0;
            ctx->has_digest = 1;
        } else if (parameter == 2) {
            if (p->data_type != OSSL_PARAM_OCTET_STRING || (p->data == NULL && p->data_size > 0)) return 0;
            lwm2m_prf_forget_secret(ctx);
            if (p->data_size <= LWM2M_PRF_INLINE_SECRET) {
                ctx->secret = ctx->inline_secret;  // also non-NULL for an empty secret
            } else {
                ctx->secret = (unsigned char *)OPENSSL_malloc(p->data_size);
                if (ctx->secret == NULL) return 0;
            }
            if (p->data_size > 0) memcpy(ctx->secret, p->data, p->data_size);
            ctx->secret_length = p->data_size;
        } else if (parameter == 3) {
            // The seed parameters of one call concatenate (libssl passes label, randoms, ... as separate seeds).
            if (p->data_type != OSSL_PARAM_OCTET_STRING || (p->data == NULL && p->data_size > 0)) return 0;
            if (!seen_seed) {
                OPENSSL_cleanse(ctx->seed, ctx->seed_length);
                ctx->seed_length = 0;
                seen_seed = 1;
            }
            if (p->data_size == 0) continue;
            if (p->data_size > LWM2M_PRF_MAX_SEED - ctx->seed_length) return 0;
            memcpy(ctx->seed + ctx->seed_length, p->data, p->data_size);
            ctx->seed_length += p->data_size;
        }
        // OSSL_KDF_PARAM_PROPERTIES and unknown parameters are ignored, as OpenSSL's providers do.
    }
    return 1;
}

/// Derives with the default provider's TLS1-PRF (for a digest other than SHA-256).
static inline int lwm2m_prf_derive_with_default(lwm2m_prf_ctx *ctx, unsigned char *key, size_t keylen) {
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_TLS1_PRF, "provider=default");
    if (kdf == NULL) return 0;
    EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (kctx == NULL) return 0;
    OSSL_PARAM params[4];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, ctx->other_digest, 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SECRET, ctx->secret, ctx->secret_length);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, ctx->seed, ctx->seed_length);
    params[3] = OSSL_PARAM_construct_end();
    int result = EVP_KDF_derive(kctx, key, keylen, params);
    EVP_KDF_CTX_free(kctx);
    return result;
}

static inline int lwm2m_prf_derive(void *vctx, unsigned char *key, size_t keylen, const OSSL_PARAM params[]) {
    lwm2m_prf_ctx *ctx = (lwm2m_prf_ctx *)vctx;
    if (!lwm2m_prf_set_ctx_params(vctx, params)) return 0;
    if (!ctx->has_digest || ctx->secret == NULL || ctx->seed_length == 0 || key == NULL || keylen == 0) return 0;
    if (ctx->other_digest[0] != 0) return lwm2m_prf_derive_with_default(ctx, key, keylen);
    lwm2m_p_sha256(ctx->secret, ctx->secret_length, ctx->seed, ctx->seed_length, key, keylen);
    return 1;
}

static inline const OSSL_PARAM *lwm2m_prf_settable_ctx_params(void *vctx, void *provctx) {
    (void)vctx;
    (void)provctx;
    static const OSSL_PARAM settable[] = {
        OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_PROPERTIES, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_DIGEST, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_KDF_PARAM_SECRET, NULL, 0),
        OSSL_PARAM_octet_string(OSSL_KDF_PARAM_SEED, NULL, 0),
        OSSL_PARAM_END,
    };
    return settable;
}

static inline int lwm2m_prf_get_ctx_params(void *vctx, OSSL_PARAM params[]) {
    (void)vctx;
    OSSL_PARAM *p = OSSL_PARAM_locate(params, OSSL_KDF_PARAM_SIZE);
    if (p != NULL) return OSSL_PARAM_set_size_t(p, SIZE_MAX);
    return -2;  // nothing requested that this KDF knows
}

static inline const OSSL_PARAM *lwm2m_prf_gettable_ctx_params(void *vctx, void *provctx) {
    (void)vctx;
    (void)provctx;
    static const OSSL_PARAM gettable[] = { OSSL_PARAM_size_t(OSSL_KDF_PARAM_SIZE, NULL), OSSL_PARAM_END };
    return gettable;
}

// MARK: EC key management, ECDH and ECDSA: the default provider's, except the public key check and key generation
//
// libssl 3.0 hands the peer's ephemeral ECDH key to EVP_PKEY_derive_set_peer, which runs the full public key
// validation: besides the on-curve check, a multiplication of the point by the group order (SP 800-56A
// 5.6.2.3.3 step 4). That multiplication costs as much as the ECDH itself (a quarter of an ECDHE-ECDSA server
// handshake) and proves nothing on a curve with cofactor 1 such as P-256, where every point on the curve other
// than infinity has order n. This provider offers the default provider's own EC key management, ECDH and ECDSA
// implementations (the same dispatch tables, run with the default provider's context) with two changes: a full
// check of a public key on a cofactor-1 curve runs the default provider's quick check (point not at infinity,
// coordinates in range, on the curve), which is the complete validation there; and P-256 key generation copies a
// group built once (see "EC key generation with a ready P-256 group"). Keeping key management, key
// exchange and signatures in one provider means keys never need exporting between providers.

#define LWM2M_MAX_DISPATCH 64

typedef struct {
    OSSL_DISPATCH ec_keymgmt_functions[LWM2M_MAX_DISPATCH];
    OSSL_FUNC_keymgmt_validate_fn *default_ec_validate;
    /// The default provider's EC key generation functions (wrapped below), all set or all NULL.
    OSSL_FUNC_keymgmt_gen_init_fn *default_gen_init;
    OSSL_FUNC_keymgmt_gen_set_template_fn *default_gen_set_template;
    OSSL_FUNC_keymgmt_gen_set_params_fn *default_gen_set_params;
    OSSL_FUNC_keymgmt_gen_settable_params_fn *default_gen_settable_params;
    OSSL_FUNC_keymgmt_gen_fn *default_gen;
    OSSL_FUNC_keymgmt_gen_cleanup_fn *default_gen_cleanup;
    /// A P-256 key (the default provider's key data, an EC_KEY) whose group every P-256 key generation copies.
    EC_KEY *p256_template;
    OSSL_ALGORITHM keymgmt_algorithms[2];
    OSSL_ALGORITHM keyexch_algorithms[2];
    OSSL_ALGORITHM signature_algorithms[2];
    void *default_provider_context;
    OSSL_PROVIDER *default_provider;
} lwm2m_provider_state;

/// The provider's tables, written once by lwm2m_make_dtls_library_context before the provider is loaded and
/// only read afterwards. (A function-local static: Swift's importer emits those, not header-level statics.)
static inline lwm2m_provider_state *lwm2m_state(void) {
    static lwm2m_provider_state state;
    return &state;
}
#define lwm2m_ec_keymgmt_functions (lwm2m_state()->ec_keymgmt_functions)
#define lwm2m_default_ec_validate (lwm2m_state()->default_ec_validate)
#define lwm2m_keymgmt_algorithms (lwm2m_state()->keymgmt_algorithms)
#define lwm2m_keyexch_algorithms (lwm2m_state()->keyexch_algorithms)
#define lwm2m_signature_algorithms (lwm2m_state()->signature_algorithms)
#define lwm2m_default_provider_context (lwm2m_state()->default_provider_context)

/// The quick check of a public key (SP 800-56A 5.6.2.3.4: not infinity, coordinates in [0, p), on the curve) for
/// a point held with Z = 1 on a prime-field curve. Returns 1 (valid), 0 (invalid), or -1 when it cannot decide
/// (another point form or field): then the default provider's check runs.
///
/// The default quick check asks for the affine coordinates, and OpenSSL's 64-bit P-256 code computes them with a
/// field inversion even when Z is 1, as it is for every key decoded from its encoded form (libssl's peer keys):
/// about 45k instructions per ECDHE handshake. With Z = 1 the stored X and Y are the affine coordinates.
static inline int lwm2m_ec_public_check_z1(const EC_KEY *key) {
    const EC_GROUP *group = EC_KEY_get0_group(key);
    const EC_POINT *point = EC_KEY_get0_public_key(key);
    const BIGNUM *field = group != NULL ? EC_GROUP_get0_field(group) : NULL;
    if (point == NULL || field == NULL || EC_GROUP_get_field_type(group) != NID_X9_62_prime_field) return -1;
    if (EC_POINT_is_at_infinity(group, point)) return 0;
    BN_CTX *ctx = BN_CTX_new();
    if (ctx == NULL) return -1;
    ERR_set_mark();
    int result = -1;
    BN_CTX_start(ctx);
    BIGNUM *x = BN_CTX_get(ctx), *y = BN_CTX_get(ctx), *z = BN_CTX_get(ctx);
    if (z != NULL && EC_POINT_get_Jprojective_coordinates_GFp(group, point, x, y, z, ctx) == 1 && BN_is_one(z)) {
        if (BN_is_negative(x) || BN_cmp(x, field) >= 0 || BN_is_negative(y) || BN_cmp(y, field) >= 0) {
            result = 0;
        } else {
            result = EC_POINT_is_on_curve(group, point, ctx) == 1 ? 1 : 0;
        }
    }
    BN_CTX_end(ctx);
    BN_CTX_free(ctx);
    ERR_pop_to_mark();  // a refused key is reported by the caller (libssl)
    return result;
}

static inline int lwm2m_ec_validate(const void *keydata, int selection, int checktype) {
    if (checktype == OSSL_KEYMGMT_VALIDATE_FULL_CHECK && (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0
        && (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) == 0 && keydata != NULL) {
        // The default provider's EC key data is an EC_KEY.
        const EC_GROUP *group = EC_KEY_get0_group((const EC_KEY *)keydata);
        const BIGNUM *cofactor = group != NULL ? EC_GROUP_get0_cofactor(group) : NULL;
        if (cofactor != NULL && BN_is_one(cofactor)) {
            checktype = OSSL_KEYMGMT_VALIDATE_QUICK_CHECK;
            if ((selection & OSSL_KEYMGMT_SELECT_ALL) == OSSL_KEYMGMT_SELECT_PUBLIC_KEY) {
                int decided = lwm2m_ec_public_check_z1((const EC_KEY *)keydata);
                if (decided >= 0) return decided;
            }
        }
    }
    return lwm2m_default_ec_validate(keydata, selection, checktype);
}

// MARK: EC key generation with a ready P-256 group
//
// libssl makes every ephemeral ECDHE key (and the peer's key shell) through EVP_PKEY_keygen with the group name
// "P-256". The default provider then builds the curve from its name for each key: big numbers from the curve
// table, Montgomery contexts for the field and the order, the generator (about 140k instructions, 7% of an
// ECDHE-ECDSA server handshake). The wrappers below keep the default provider's generation context and, when the
// only group setting was the name of P-256, hand it a template key before generating, so the default code copies
// the group built once (EC_GROUP_dup) instead of building it again. Everything else (the key generation itself,
// encoding, point format, cofactor mode, group checks) is the default provider's code, unchanged.

typedef struct {
    /// The default provider's generation context.
    void *inner;
    /// Whether a group name set was P-256's.
    int p256_named;
    /// Whether anything else shaped the group: another name, explicit curve parameters, a caller's template.
    int other_group;
} lwm2m_ec_gen_ctx;

/// Whether a group `name` is P-256 as OpenSSL 3.0 reads names: its NIST name (case-sensitive) or its short name
/// (case-insensitive).
static inline int lwm2m_is_p256_name(const char *name, size_t length) {
    return (length == 5 && strncmp(name, "P-256", 5) == 0)
        || (length == 10 && strncasecmp(name, "prime256v1", 10) == 0);
}

/// Notes what `params` say about the group. Only the group name, the named-curve encoding, the point format, the
/// cofactor mode and the group check leave the group a named one; any other parameter counts as shaping it.
static inline void lwm2m_ec_gen_observe(lwm2m_ec_gen_ctx *ctx, const OSSL_PARAM params[]) {
    if (params == NULL) return;
    for (const OSSL_PARAM *p = params; p->key != NULL; p++) {
        if (strcmp(p->key, OSSL_PKEY_PARAM_GROUP_NAME) == 0) {
            if (p->data_type == OSSL_PARAM_UTF8_STRING && p->data != NULL
                && lwm2m_is_p256_name((const char *)p->data, strnlen((const char *)p->data, p->data_size))) {
                ctx->p256_named = 1;
            } else {
                ctx->other_group = 1;
            }
        } else if (strcmp(p->key, OSSL_PKEY_PARAM_EC_ENCODING) == 0) {
            if (p->data_type != OSSL_PARAM_UTF8_STRING || p->data == NULL
                || strncmp((const char *)p->data, OSSL_PKEY_EC_ENCODING_GROUP, p->data_size) != 0) {
                ctx->other_group = 1;
            }
        } else if (strcmp(p->key, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT) != 0
                   && strcmp(p->key, OSSL_PKEY_PARAM_USE_COFACTOR_ECDH) != 0
                   && strcmp(p->key, OSSL_PKEY_PARAM_EC_GROUP_CHECK_TYPE) != 0) {
            ctx->other_group = 1;
        }
    }
}

static inline int lwm2m_ec_gen_set_params(void *vctx, const OSSL_PARAM params[]) {
    lwm2m_ec_gen_ctx *ctx = (lwm2m_ec_gen_ctx *)vctx;
    if (ctx == NULL) return 0;
    lwm2m_ec_gen_observe(ctx, params);
    return lwm2m_state()->default_gen_set_params(ctx->inner, params);
}

static inline void lwm2m_ec_gen_cleanup(void *vctx) {
    lwm2m_ec_gen_ctx *ctx = (lwm2m_ec_gen_ctx *)vctx;
    if (ctx == NULL) return;
    lwm2m_state()->default_gen_cleanup(ctx->inner);
    OPENSSL_free(ctx);
}

static inline void *lwm2m_ec_gen_init(void *provctx, int selection, const OSSL_PARAM params[]) {
    lwm2m_ec_gen_ctx *ctx = (lwm2m_ec_gen_ctx *)OPENSSL_zalloc(sizeof(lwm2m_ec_gen_ctx));
    if (ctx == NULL) return NULL;
    // The default gen_init applies `params` through its gen_set_params: the same as doing it in two steps.
    ctx->inner = lwm2m_state()->default_gen_init(provctx, selection, NULL);
    if (ctx->inner == NULL || !lwm2m_ec_gen_set_params(ctx, params)) {
        lwm2m_ec_gen_cleanup(ctx);
        return NULL;
    }
    return ctx;
}

static inline int lwm2m_ec_gen_set_template(void *vctx, void *templ) {
    lwm2m_ec_gen_ctx *ctx = (lwm2m_ec_gen_ctx *)vctx;
    if (ctx == NULL) return 0;
    ctx->other_group = 1;
    return lwm2m_state()->default_gen_set_template(ctx->inner, templ);
}

static inline const OSSL_PARAM *lwm2m_ec_gen_settable_params(void *vctx, void *provctx) {
    lwm2m_ec_gen_ctx *ctx = (lwm2m_ec_gen_ctx *)vctx;
    return lwm2m_state()->default_gen_settable_params(ctx != NULL ? ctx->inner : NULL, provctx);
}

static inline void *lwm2m_ec_gen(void *vctx, OSSL_CALLBACK *cb, void *cbarg) {
    lwm2m_ec_gen_ctx *ctx = (lwm2m_ec_gen_ctx *)vctx;
    if (ctx == NULL) return NULL;
    if (ctx->p256_named && !ctx->other_group && lwm2m_state()->p256_template != NULL) {
        // Copies the ready group into the context; if that fails, the default code builds it from the name.
        if (lwm2m_state()->default_gen_set_template(ctx->inner, lwm2m_state()->p256_template) != 1) ERR_clear_error();
    }
    return lwm2m_state()->default_gen(ctx->inner, cb, cbarg);
}

/// Whether every function of an EC key management table is one OpenSSL 3.0 defines: the generation wrappers
/// above must see every function that takes a generation context.
static inline int lwm2m_keymgmt_functions_known(const OSSL_DISPATCH *functions) {
    for (const OSSL_DISPATCH *f = functions; f->function_id != 0; f++) {
        switch (f->function_id) {
        case OSSL_FUNC_KEYMGMT_NEW: case OSSL_FUNC_KEYMGMT_GEN_INIT: case OSSL_FUNC_KEYMGMT_GEN_SET_TEMPLATE:
        case OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS: case OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS: case OSSL_FUNC_KEYMGMT_GEN:
        case OSSL_FUNC_KEYMGMT_GEN_CLEANUP: case OSSL_FUNC_KEYMGMT_LOAD: case OSSL_FUNC_KEYMGMT_FREE:
        case OSSL_FUNC_KEYMGMT_GET_PARAMS: case OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS: case OSSL_FUNC_KEYMGMT_SET_PARAMS:
        case OSSL_FUNC_KEYMGMT_SETTABLE_PARAMS: case OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME: case OSSL_FUNC_KEYMGMT_HAS:
        case OSSL_FUNC_KEYMGMT_VALIDATE: case OSSL_FUNC_KEYMGMT_MATCH: case OSSL_FUNC_KEYMGMT_IMPORT:
        case OSSL_FUNC_KEYMGMT_IMPORT_TYPES: case OSSL_FUNC_KEYMGMT_EXPORT: case OSSL_FUNC_KEYMGMT_EXPORT_TYPES:
        case OSSL_FUNC_KEYMGMT_DUP:
            break;
        default:
            return 0;
        }
    }
    return 1;
}

/// The wrapper for a generation function of the default EC key management (`function` its address), or NULL
/// when `function_id` is not a generation function. Records the default one.
static inline void (*lwm2m_ec_gen_wrapper(int function_id, void (*function)(void)))(void) {
    lwm2m_provider_state *state = lwm2m_state();
    switch (function_id) {
    case OSSL_FUNC_KEYMGMT_GEN_INIT:
        state->default_gen_init = (OSSL_FUNC_keymgmt_gen_init_fn *)function;
        return (void (*)(void))lwm2m_ec_gen_init;
    case OSSL_FUNC_KEYMGMT_GEN_SET_TEMPLATE:
        state->default_gen_set_template = (OSSL_FUNC_keymgmt_gen_set_template_fn *)function;
        return (void (*)(void))lwm2m_ec_gen_set_template;
    case OSSL_FUNC_KEYMGMT_GEN_SET_PARAMS:
        state->default_gen_set_params = (OSSL_FUNC_keymgmt_gen_set_params_fn *)function;
        return (void (*)(void))lwm2m_ec_gen_set_params;
    case OSSL_FUNC_KEYMGMT_GEN_SETTABLE_PARAMS:
        state->default_gen_settable_params = (OSSL_FUNC_keymgmt_gen_settable_params_fn *)function;
        return (void (*)(void))lwm2m_ec_gen_settable_params;
    case OSSL_FUNC_KEYMGMT_GEN:
        state->default_gen = (OSSL_FUNC_keymgmt_gen_fn *)function;
        return (void (*)(void))lwm2m_ec_gen;
    case OSSL_FUNC_KEYMGMT_GEN_CLEANUP:
        state->default_gen_cleanup = (OSSL_FUNC_keymgmt_gen_cleanup_fn *)function;
        return (void (*)(void))lwm2m_ec_gen_cleanup;
    default:
        return NULL;
    }
}

/// Whether the first name in an algorithm's "NAME:ALIAS:..." list is `name`.
static inline int lwm2m_first_name_is(const char *names, const char *name) {
    size_t length = strlen(name);
    return names != NULL && strncmp(names, name, length) == 0 && (names[length] == ':' || names[length] == 0);
}

/// Copies the default provider's algorithm `name` of `operation` into `into` (property "provider=lwm2m-prf").
/// For EC key management the dispatch table is copied with the validate function replaced.
static inline int lwm2m_adopt_default_algorithm(OSSL_PROVIDER *default_provider, int operation, const char *name,
                                                OSSL_ALGORITHM *into) {
    int no_cache = 0;
    const OSSL_ALGORITHM *algorithms = OSSL_PROVIDER_query_operation(default_provider, operation, &no_cache);
    int found = 0;
    for (const OSSL_ALGORITHM *a = algorithms; a != NULL && a->algorithm_names != NULL; a++) {
        if (!lwm2m_first_name_is(a->algorithm_names, name)) continue;
        into[0] = *a;
        into[0].property_definition = "provider=lwm2m-prf";
        if (operation == OSSL_OP_KEYMGMT) {
            size_t count = 0;
            // The generation functions are wrapped only when all six are there and no function unknown to
            // OpenSSL 3.0 could receive a wrapped generation context.
            int wrap_gen = lwm2m_keymgmt_functions_known(a->implementation);
            for (const OSSL_DISPATCH *f = a->implementation; f->function_id != 0; f++) {
                if (count + 1 >= LWM2M_MAX_DISPATCH) return 0;
                lwm2m_ec_keymgmt_functions[count] = *f;
                if (f->function_id == OSSL_FUNC_KEYMGMT_VALIDATE) {
                    lwm2m_default_ec_validate = (OSSL_FUNC_keymgmt_validate_fn *)f->function;
                    lwm2m_ec_keymgmt_functions[count].function = (void (*)(void))lwm2m_ec_validate;
                }
                void (*wrapper)(void) = wrap_gen ? lwm2m_ec_gen_wrapper(f->function_id, f->function) : NULL;
                if (wrapper != NULL) lwm2m_ec_keymgmt_functions[count].function = wrapper;
                count++;
            }
            lwm2m_provider_state *state = lwm2m_state();
            if (wrap_gen && (state->default_gen_init == NULL || state->default_gen_set_template == NULL
                             || state->default_gen_set_params == NULL || state->default_gen_settable_params == NULL
                             || state->default_gen == NULL || state->default_gen_cleanup == NULL)) {
                // Not all six: serve the default functions as they are.
                size_t index = 0;
                for (const OSSL_DISPATCH *f = a->implementation; f->function_id != 0; f++, index++) {
                    if (f->function_id != OSSL_FUNC_KEYMGMT_VALIDATE) lwm2m_ec_keymgmt_functions[index] = *f;
                }
                state->default_gen = NULL;  // marks the generation functions as not wrapped
            }
            lwm2m_ec_keymgmt_functions[count].function_id = 0;
            lwm2m_ec_keymgmt_functions[count].function = NULL;
            if (lwm2m_default_ec_validate == NULL) return 0;
            into[0].implementation = lwm2m_ec_keymgmt_functions;
        }
        into[1].algorithm_names = NULL;
        into[1].property_definition = NULL;
        into[1].implementation = NULL;
        into[1].algorithm_description = NULL;
        found = 1;
        break;
    }
    // The default provider's tables are static; they stay valid after unquery.
    if (algorithms != NULL) OSSL_PROVIDER_unquery_operation(default_provider, operation, algorithms);
    return found;
}

static inline const OSSL_ALGORITHM *lwm2m_prf_query(void *provctx, int operation, int *no_cache) {
    (void)provctx;
    static const OSSL_DISPATCH functions[] = {
        { OSSL_FUNC_KDF_NEWCTX, (void (*)(void))lwm2m_prf_newctx },
        { OSSL_FUNC_KDF_DUPCTX, (void (*)(void))lwm2m_prf_dupctx },
        { OSSL_FUNC_KDF_FREECTX, (void (*)(void))lwm2m_prf_freectx },
        { OSSL_FUNC_KDF_RESET, (void (*)(void))lwm2m_prf_reset },
        { OSSL_FUNC_KDF_DERIVE, (void (*)(void))lwm2m_prf_derive },
        { OSSL_FUNC_KDF_SETTABLE_CTX_PARAMS, (void (*)(void))lwm2m_prf_settable_ctx_params },
        { OSSL_FUNC_KDF_SET_CTX_PARAMS, (void (*)(void))lwm2m_prf_set_ctx_params },
        { OSSL_FUNC_KDF_GETTABLE_CTX_PARAMS, (void (*)(void))lwm2m_prf_gettable_ctx_params },
        { OSSL_FUNC_KDF_GET_CTX_PARAMS, (void (*)(void))lwm2m_prf_get_ctx_params },
        { 0, NULL },
    };
    static const OSSL_ALGORITHM kdfs[] = {
        { OSSL_KDF_NAME_TLS1_PRF, "provider=lwm2m-prf", functions, "TLS 1.2 PRF with SHA-256 (swift-lwm2m)" },
        { NULL, NULL, NULL, NULL },
    };
    *no_cache = 0;
    switch (operation) {
    case OSSL_OP_KDF: return kdfs;
    case OSSL_OP_KEYMGMT: return lwm2m_keymgmt_algorithms[0].algorithm_names != NULL ? lwm2m_keymgmt_algorithms : NULL;
    case OSSL_OP_KEYEXCH: return lwm2m_keyexch_algorithms[0].algorithm_names != NULL ? lwm2m_keyexch_algorithms : NULL;
    case OSSL_OP_SIGNATURE:
        return lwm2m_signature_algorithms[0].algorithm_names != NULL ? lwm2m_signature_algorithms : NULL;
    default: return NULL;
    }
}

/// libssl only uses a TLS group (P-256) when the provider announcing it also serves its key management, which is
/// this provider's for EC: announce the default provider's groups and signature algorithms as well.
static inline int lwm2m_get_capabilities(void *provctx, const char *capability, OSSL_CALLBACK *cb, void *arg) {
    (void)provctx;
    OSSL_PROVIDER *default_provider = lwm2m_state()->default_provider;
    if (default_provider == NULL || lwm2m_state()->keymgmt_algorithms[0].algorithm_names == NULL) return 1;
    return OSSL_PROVIDER_get_capabilities(default_provider, capability, cb, arg);
}

static inline int lwm2m_prf_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                                          const OSSL_DISPATCH **out, void **provctx) {
    (void)handle;
    (void)in;
    static const OSSL_DISPATCH provider[] = {
        { OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))lwm2m_prf_query },
        { OSSL_FUNC_PROVIDER_GET_CAPABILITIES, (void (*)(void))lwm2m_get_capabilities },
        { 0, NULL },
    };
    *out = provider;
    // The adopted EC algorithms are the default provider's functions: they get its context. The PRF ignores it.
    *provctx = lwm2m_default_provider_context;
    return 1;
}

/// Makes the library context DTLSTransport's SSL_CTXs use: the default provider plus the provider above.
/// Returns NULL when a step fails (the caller then uses OpenSSL's default context). Not thread-safe: call once.
static inline OSSL_LIB_CTX *lwm2m_make_dtls_library_context(void) {
    OSSL_LIB_CTX *libctx = OSSL_LIB_CTX_new();
    if (libctx == NULL) return NULL;
    OSSL_PROVIDER *default_provider = OSSL_PROVIDER_load(libctx, "default");
    if (default_provider == NULL) {
        OSSL_LIB_CTX_free(libctx);
        return NULL;
    }
    lwm2m_default_provider_context = OSSL_PROVIDER_get0_provider_ctx(default_provider);
    lwm2m_state()->default_provider = default_provider;
    // All three or none: keys must live in the same provider as the operations that use them.
    if (lwm2m_default_provider_context == NULL
        || !lwm2m_adopt_default_algorithm(default_provider, OSSL_OP_KEYMGMT, "EC", lwm2m_keymgmt_algorithms)
        || !lwm2m_adopt_default_algorithm(default_provider, OSSL_OP_KEYEXCH, "ECDH", lwm2m_keyexch_algorithms)
        || !lwm2m_adopt_default_algorithm(default_provider, OSSL_OP_SIGNATURE, "ECDSA", lwm2m_signature_algorithms)) {
        memset(lwm2m_keymgmt_algorithms, 0, sizeof(lwm2m_keymgmt_algorithms));
        memset(lwm2m_keyexch_algorithms, 0, sizeof(lwm2m_keyexch_algorithms));
        memset(lwm2m_signature_algorithms, 0, sizeof(lwm2m_signature_algorithms));
    }
    if (lwm2m_keymgmt_algorithms[0].algorithm_names != NULL && lwm2m_state()->default_gen != NULL) {
        // Made with the library context the default provider's key generation uses (its provider context's).
        lwm2m_state()->p256_template = EC_KEY_new_by_curve_name_ex(libctx, NULL, NID_X9_62_prime256v1);
    }
    if (OSSL_PROVIDER_add_builtin(libctx, "lwm2m-prf", lwm2m_prf_provider_init) != 1
        || OSSL_PROVIDER_load(libctx, "lwm2m-prf") == NULL) {
        OSSL_LIB_CTX_free(libctx);
        return NULL;
    }
    return libctx;
}

/// For tests: an EC key of `group` generated the way libssl makes ephemeral keys.
static inline EVP_PKEY *lwm2m_generate_ec_key(OSSL_LIB_CTX *libctx, const char *propq, const char *group) {
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(libctx, "EC", propq);
    if (pctx == NULL) return NULL;
    if (EVP_PKEY_keygen_init(pctx) <= 0 || EVP_PKEY_CTX_set_group_name(pctx, group) <= 0
        || EVP_PKEY_keygen(pctx, &pkey) <= 0) {
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(pctx);
    return pkey;
}

/// For tests: the ECDH shared secret of `own` (private) and `peer` (public) in `libctx`; its length, or 0.
static inline size_t lwm2m_ecdh(OSSL_LIB_CTX *libctx, const char *propq, EVP_PKEY *own, EVP_PKEY *peer,
                                unsigned char *out, size_t capacity) {
    size_t length = capacity;
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(libctx, own, propq);
    if (pctx == NULL) return 0;
    if (EVP_PKEY_derive_init(pctx) <= 0 || EVP_PKEY_derive_set_peer(pctx, peer) <= 0
        || EVP_PKEY_derive(pctx, out, &length) <= 0) {
        length = 0;
    }
    EVP_PKEY_CTX_free(pctx);
    return length;
}

/// For tests: generates a key of `group` in `libctx` (the DTLS library context, through this provider) and one in
/// OpenSSL's default context, and checks the first against the second: the same group name, the same encoded
/// public key length and form, and the same ECDH secret computed both ways. Writes the name of the provider that
/// made the first key to `provider` (`capacity` bytes). Returns 1 when everything holds, else the negative number
/// of the step that failed.
static inline int lwm2m_check_ec_key_generation(OSSL_LIB_CTX *libctx, const char *propq, const char *group,
                                                char *provider, size_t capacity) {
    int result = 1;
    char ours_name[64], theirs_name[64];
    unsigned char ours_secret[128], theirs_secret[128];
    unsigned char *ours_public = NULL, *theirs_public = NULL;
    EVP_PKEY *ours = lwm2m_generate_ec_key(libctx, propq, group);
    EVP_PKEY *theirs = lwm2m_generate_ec_key(NULL, NULL, group);
    if (ours == NULL || theirs == NULL) { result = -1; goto done; }
    const OSSL_PROVIDER *maker = EVP_PKEY_get0_provider(ours);
    if (maker == NULL || capacity == 0) { result = -2; goto done; }
    strncpy(provider, OSSL_PROVIDER_get0_name(maker), capacity - 1);
    provider[capacity - 1] = 0;
    if (EVP_PKEY_get_group_name(ours, ours_name, sizeof(ours_name), NULL) != 1
        || EVP_PKEY_get_group_name(theirs, theirs_name, sizeof(theirs_name), NULL) != 1
        || strcmp(ours_name, theirs_name) != 0) { result = -3; goto done; }
    size_t ours_length = EVP_PKEY_get1_encoded_public_key(ours, &ours_public);
    size_t theirs_length = EVP_PKEY_get1_encoded_public_key(theirs, &theirs_public);
    if (ours_length == 0 || ours_length != theirs_length || ours_public[0] != theirs_public[0]) {
        result = -4;
        goto done;
    }
    size_t ours_secret_length = lwm2m_ecdh(libctx, propq, ours, theirs, ours_secret, sizeof(ours_secret));
    size_t theirs_secret_length = lwm2m_ecdh(NULL, NULL, theirs, ours, theirs_secret, sizeof(theirs_secret));
    if (ours_secret_length == 0 || ours_secret_length != theirs_secret_length
        || memcmp(ours_secret, theirs_secret, ours_secret_length) != 0) { result = -5; goto done; }
done:
    OPENSSL_free(ours_public);
    OPENSSL_free(theirs_public);
    EVP_PKEY_free(ours);
    EVP_PKEY_free(theirs);
    return result;
}

/// For tests: builds an EC_KEY on P-256 in `libctx` whose public point is of `kind` (0: decoded from its encoding,
/// so Z = 1; 1: as key generation leaves it; 2: off the curve, Z = 1; 3: infinity; 4: given with x + p, Z = 1), and
/// runs this provider's full public-key check (`ours`) and the default provider's full check (`reference`) on it.
/// Returns 1 when both ran.
static inline int lwm2m_compare_ec_public_check(OSSL_LIB_CTX *libctx, int kind, int *ours, int *reference) {
    int ran = 0;
    EC_KEY *key = EC_KEY_new_by_curve_name_ex(libctx, NULL, NID_X9_62_prime256v1);
    EC_KEY *generated = EC_KEY_new_by_curve_name_ex(libctx, NULL, NID_X9_62_prime256v1);
    BN_CTX *ctx = BN_CTX_new();
    const EC_GROUP *group = key != NULL ? EC_KEY_get0_group(key) : NULL;
    EC_POINT *point = group != NULL ? EC_POINT_new(group) : NULL;
    BIGNUM *x = BN_new(), *y = BN_new(), *one = BN_new();
    unsigned char encoded[65];
    if (point == NULL || generated == NULL || ctx == NULL || x == NULL || y == NULL || one == NULL
        || lwm2m_default_ec_validate == NULL || EC_KEY_generate_key(generated) != 1 || BN_one(one) != 1) {
        goto done;
    }
    const EC_POINT *public_point = EC_KEY_get0_public_key(generated);
    if (EC_POINT_get_affine_coordinates(group, public_point, x, y, ctx) != 1) goto done;
    switch (kind) {
    case 0:
        if (EC_POINT_point2oct(group, public_point, POINT_CONVERSION_UNCOMPRESSED, encoded, sizeof(encoded), ctx)
                != sizeof(encoded)
            || EC_POINT_oct2point(group, point, encoded, sizeof(encoded), ctx) != 1) goto done;
        break;
    case 1:
        if (EC_POINT_copy(point, public_point) != 1) goto done;
        break;
    case 2:
        if (BN_add_word(y, 1) != 1 || EC_POINT_set_Jprojective_coordinates_GFp(group, point, x, y, one, ctx) != 1) {
            goto done;
        }
        break;
    case 3:
        if (EC_POINT_set_to_infinity(group, point) != 1) goto done;
        break;
    case 4:
        if (BN_add(x, x, EC_GROUP_get0_field(group)) != 1
            || EC_POINT_set_Jprojective_coordinates_GFp(group, point, x, y, one, ctx) != 1) goto done;
        break;
    default:
        goto done;
    }
    if (EC_KEY_set_public_key(key, point) != 1) goto done;
    ERR_set_mark();
    *ours = lwm2m_ec_validate(key, OSSL_KEYMGMT_SELECT_PUBLIC_KEY, OSSL_KEYMGMT_VALIDATE_FULL_CHECK);
    *reference = lwm2m_default_ec_validate(key, OSSL_KEYMGMT_SELECT_PUBLIC_KEY, OSSL_KEYMGMT_VALIDATE_FULL_CHECK);
    ERR_pop_to_mark();
    ran = 1;
done:
    BN_free(x);
    BN_free(y);
    BN_free(one);
    EC_POINT_free(point);
    BN_CTX_free(ctx);
    EC_KEY_free(key);
    EC_KEY_free(generated);
    ERR_clear_error();
    return ran;
}

/// The property query for SSL_CTX_new_ex: prefer the PRF provider where it has the algorithm.
static const char *const lwm2m_dtls_property_query = "?provider=lwm2m-prf";

#pragma clang diagnostic pop

#endif
