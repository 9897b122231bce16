#pragma once

#include <libxml/tree.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace imagefactory {

struct XmlDocFree {
    void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using XmlDocPtr = std::unique_ptr<xmlDoc, XmlDocFree>;

// Parses xml as a template document with the limits of checkTemplateXml: at most
// kMaxTemplateBytes, valid UTF-8 whatever the XML declaration says, no DOCTYPE, no nesting
// past kMaxTemplateDepth, root element <template>. The parser never touches the network or
// the file system and substitutes no entities. Safe to call from any thread at once.
Result<XmlDocPtr> readTemplateDocument(std::string_view xml);

// The name and root element readXmlDocument uses for a document other than a template.
struct XmlDocumentKind {
    const char* what;  // the document's name in messages, e.g. "credentials"
    const char* root;  // the root element it must have, or nullptr for any
    // Whether parse errors may carry libxml2's detail, which can quote fragments of the text.
    // Off for documents that hold secrets: their errors give the line only.
    bool detailed_errors = true;
};

// Parses xml with the same limits and settings as readTemplateDocument.
Result<XmlDocPtr> readXmlDocument(std::string_view xml, const XmlDocumentKind& kind);

// The text content of node (all descendant text), as libxml2 returns it.
std::string xmlText(const xmlNode* node);

// An attribute's value, and whether the attribute was written at all.
struct XmlAttribute {
    bool present = false;
    std::string value;
};
// The attribute called name on node, without namespace.
XmlAttribute xmlAttribute(const xmlNode* node, const char* name);

// True when node is an element called name (no namespace handling: TDL has none).
bool isElement(const xmlNode* node, const char* name);

// Returns text with & < > ' and " replaced by entities, for element text and attribute values.
std::string escapeXml(std::string_view text);

// The first child element of node called name, or nullptr.
const xmlNode* childElement(const xmlNode* node, const char* name);

}  // namespace imagefactory
