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
#include <libxml/xmlschemas.h>
#include <string.h>

/// Frees memory that libxml2 allocated (`xmlFree` may be a macro or a global function pointer).
static inline void swiftlwm2m_xmlFree(void *pointer) {
    xmlFree(pointer);
}

/// The parser options the registry loader uses: never touch the network, never print errors or
/// warnings (they are collected from the context instead), merge CDATA into text, no DTD loading.
static inline int swiftlwm2m_xmlLoaderOptions(void) {
    return XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
}

/// The first error of a libxml2 operation, and how many there were.
typedef struct {
    int count;
    int line;
    char message[512];
} swiftlwm2m_xml_errors;

#if LIBXML_VERSION >= 21200
static void swiftlwm2m_collectError(void *user, const xmlError *error) {
#else
static void swiftlwm2m_collectError(void *user, xmlErrorPtr error) {
#endif
    swiftlwm2m_xml_errors *errors = (swiftlwm2m_xml_errors *)user;
    if (errors->count++ == 0 && error != NULL) {
        errors->line = error->line;
        if (error->message != NULL) {
            strncpy(errors->message, error->message, sizeof(errors->message) - 1);
            errors->message[sizeof(errors->message) - 1] = 0;
        }
    }
}

/// Validates `document` against the XML schema in `schemaDocument` without printing anything: every
/// error goes to `errors`. Returns 0 when valid, a positive number when invalid, -1 when the schema
/// itself is unusable.
static inline int swiftlwm2m_validateWithSchema(xmlDocPtr schemaDocument, xmlDocPtr document,
                                                swiftlwm2m_xml_errors *errors) {
    int result = -1;
    xmlSchemaParserCtxtPtr parser = xmlSchemaNewDocParserCtxt(schemaDocument);
    if (parser == NULL) return -1;
    xmlSchemaSetParserStructuredErrors(parser, swiftlwm2m_collectError, errors);
    xmlSchemaPtr schema = xmlSchemaParse(parser);
    if (schema != NULL) {
        xmlSchemaValidCtxtPtr validator = xmlSchemaNewValidCtxt(schema);
        if (validator != NULL) {
            errors->count = 0;
            xmlSchemaSetValidStructuredErrors(validator, swiftlwm2m_collectError, errors);
            result = xmlSchemaValidateDoc(validator, document);
            xmlSchemaFreeValidCtxt(validator);
        }
        xmlSchemaFree(schema);
    }
    xmlSchemaFreeParserCtxt(parser);
    return result;
}

#endif
