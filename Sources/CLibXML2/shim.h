#ifndef SWIFT_LWM2M_CLIBXML2_SHIM_H
#define SWIFT_LWM2M_CLIBXML2_SHIM_H

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#endif
