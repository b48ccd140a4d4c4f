#ifndef SWIFT_LWM2M_CHEAPINFO_H
#define SWIFT_LWM2M_CHEAPINFO_H

#include <stddef.h>

/// Routes OpenSSL's allocations through counting wrappers (call before OpenSSL allocates anything).
/// Returns 1 on success, 0 when OpenSSL had already allocated.
int lwm2m_openssl_count_allocations(void);

/// Bytes OpenSSL currently holds (valid after a successful lwm2m_openssl_count_allocations()).
long lwm2m_openssl_bytes_in_use(void);

/// CPU time of the calling thread in nanoseconds.
long long lwm2m_thread_cpu_nanoseconds(void);

#endif
