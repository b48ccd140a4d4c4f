#include "CHeapInfo.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// Declared here so this benchmark helper does not need OpenSSL's headers (libcrypto is linked).
extern int CRYPTO_set_mem_functions(void *(*m)(size_t, const char *, int),
                                    void *(*r)(void *, size_t, const char *, int),
                                    void (*f)(void *, const char *, int));

static _Atomic long bytes_in_use = 0;
#define HEADER 16

static void *counting_malloc(size_t size, const char *file, int line) {
    (void)file; (void)line;
    unsigned char *p = malloc(size + HEADER);
    if (p == NULL) return NULL;
    memcpy(p, &size, sizeof(size));
    atomic_fetch_add(&bytes_in_use, (long)size);
    return p + HEADER;
}

static void counting_free(void *ptr, const char *file, int line) {
    (void)file; (void)line;
    if (ptr == NULL) return;
    unsigned char *p = (unsigned char *)ptr - HEADER;
    size_t size;
    memcpy(&size, p, sizeof(size));
    atomic_fetch_sub(&bytes_in_use, (long)size);
    free(p);
}

static void *counting_realloc(void *ptr, size_t size, const char *file, int line) {
    if (ptr == NULL) return counting_malloc(size, file, line);
    if (size == 0) { counting_free(ptr, file, line); return NULL; }
    unsigned char *old = (unsigned char *)ptr - HEADER;
    size_t old_size;
    memcpy(&old_size, old, sizeof(old_size));
    unsigned char *p = realloc(old, size + HEADER);
    if (p == NULL) return NULL;
    memcpy(p, &size, sizeof(size));
    atomic_fetch_add(&bytes_in_use, (long)size - (long)old_size);
    return p + HEADER;
}

int lwm2m_openssl_count_allocations(void) {
    return CRYPTO_set_mem_functions(counting_malloc, counting_realloc, counting_free);
}

long lwm2m_openssl_bytes_in_use(void) { return atomic_load(&bytes_in_use); }

long long lwm2m_thread_cpu_nanoseconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
