#ifndef SWIFT_LWM2M_CHEAPINFO_H
#define SWIFT_LWM2M_CHEAPINFO_H

#include <stddef.h>

/// Bytes currently allocated from the C heap (glibc's mallinfo2().uordblks; 0 where unavailable).
size_t lwm2m_heap_in_use(void);

#endif
