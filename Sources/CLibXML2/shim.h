#ifndef SWIFT_LWM2M_CLIBXML2_SHIM_H
#define SWIFT_LWM2M_CLIBXML2_SHIM_H

// libxml2 built with ICU pulls <unicode/ucnv.h> into its headers, which clashes with the ICU copy that
// Foundation ships (same enums, different members). Nothing here touches the ICU members of
// xmlCharEncodingHandler (the only structure they change), so hide them from Swift.
#include <libxml/xmlversion.h>
#ifdef LIBXML_ICU_ENABLED
#undef LIBXML_ICU_ENABLED
#endif

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlmemory.h>

/// Frees memory that libxml2 allocated (`xmlFree` may be a macro or a global function pointer).
static inline void swiftlwm2m_xmlFree(void *pointer) {
    xmlFree(pointer);
}

/// The parser options the registry loader uses: never touch the network, never print errors or
/// warnings (they are collected from the context instead), merge CDATA into text, no DTD loading.
static inline int swiftlwm2m_xmlLoaderOptions(void) {
    return XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
}

#endif
