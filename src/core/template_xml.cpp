#include "core/template_xml.hpp"

#include <libxml/SAX2.h>
#include <libxml/parser.h>

#include <cstdio>
#include <mutex>

#include "core/template.hpp"
#include "core/text.hpp"

namespace imagefactory {
namespace {

// The reason the SAX hooks stopped the parser early, if they did.
enum class StopReason { None, Doctype, TooDeep };

// Per-parse state reached from the SAX hooks through the parser context's _private pointer,
// so that parses in different threads share nothing.
struct ParseGuard {
    StopReason reason = StopReason::None;
    int depth = 0;
    int line = 0;
    std::string element;
    startElementNsSAX2Func start_element = nullptr;
    endElementNsSAX2Func end_element = nullptr;
};

ParseGuard& guardOf(void* context) {
    auto* parser = static_cast<xmlParserCtxt*>(context);
    return *static_cast<ParseGuard*>(parser->_private);
}

int currentLine(void* context) {
    auto* parser = static_cast<xmlParserCtxt*>(context);
    return parser->input != nullptr ? parser->input->line : 0;
}

// libxml2 reports every DOCTYPE declaration here, with or without an internal subset, before
// it reads any entity declaration. Stopping now means no entity is ever defined, so neither
// external entities nor entity expansion bombs get a chance to run.
void onDoctype(void* context, const xmlChar*, const xmlChar*, const xmlChar*) {
    ParseGuard& guard = guardOf(context);
    guard.reason = StopReason::Doctype;
    guard.line = currentLine(context);
    xmlStopParser(static_cast<xmlParserCtxt*>(context));
}

void onStartElement(void* context, const xmlChar* local_name, const xmlChar* prefix,
                    const xmlChar* uri, int namespace_count, const xmlChar** namespaces,
                    int attribute_count, int defaulted_count, const xmlChar** attributes) {
    ParseGuard& guard = guardOf(context);
    if (++guard.depth > kMaxTemplateDepth) {
        guard.reason = StopReason::TooDeep;
        guard.line = currentLine(context);
        guard.element = reinterpret_cast<const char*>(local_name);
        xmlStopParser(static_cast<xmlParserCtxt*>(context));
        return;
    }
    guard.start_element(context, local_name, prefix, uri, namespace_count, namespaces,
                        attribute_count, defaulted_count, attributes);
}

void onEndElement(void* context, const xmlChar* local_name, const xmlChar* prefix,
                  const xmlChar* uri) {
    ParseGuard& guard = guardOf(context);
    --guard.depth;
    guard.end_element(context, local_name, prefix, uri);
}

int lineAt(std::string_view text, size_t offset) {
    int line = 1;
    for (size_t i = 0; i < offset && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++line;
        }
    }
    return line;
}

std::string describeParseError(const xmlError* error, const XmlDocumentKind& kind) {
    std::string text = std::string(kind.what) + " is not well-formed XML";
    if (error == nullptr) {
        return text;
    }
    if (error->line > 0) {
        text += " at line " + std::to_string(error->line);
    }
    if (!kind.detailed_errors || error->message == nullptr) {
        return text;
    }
    std::string detail = error->message;
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) {
        detail.pop_back();
    }
    return text + ": " + detail;
}

struct ParserContextFree {
    void operator()(xmlParserCtxt* context) const { xmlFreeParserCtxt(context); }
};

}  // namespace

Result<XmlDocPtr> readTemplateDocument(std::string_view xml) {
    return readXmlDocument(xml, {"template", "template", true});
}

Result<XmlDocPtr> readXmlDocument(std::string_view xml, const XmlDocumentKind& kind) {
    const std::string what = kind.what;
    const std::string root_name = kind.root != nullptr ? kind.root : "element";
    // The size check comes first so that an oversized document costs no parsing at all.
    if (xml.size() > kMaxTemplateBytes) {
        return userError(what + " is " + std::to_string(xml.size()) +
                         " bytes, larger than the limit of " + std::to_string(kMaxTemplateBytes) +
                         " bytes (1 MiB)");
    }
    if (xml.find_first_not_of(" \t\r\n") == std::string_view::npos) {
        return userError(what + " is empty: expected an XML document with a <" + root_name +
                         "> root");
    }
    size_t bad_byte = findInvalidUtf8(xml);
    if (bad_byte != std::string_view::npos) {
        char byte_text[8];
        std::snprintf(byte_text, sizeof byte_text, "0x%02X",
                      static_cast<unsigned char>(xml[bad_byte]));
        return userError(what + " is not valid UTF-8: invalid byte " + std::string(byte_text) +
                         " at offset " + std::to_string(bad_byte) + " (line " +
                         std::to_string(lineAt(xml, bad_byte)) + ")");
    }

    // libxml2 2.9 documents xmlInitParser as not reentrant: call it once before parsing in
    // several threads.
    static std::once_flag init_once;
    std::call_once(init_once, [] { xmlInitParser(); });

    std::unique_ptr<xmlParserCtxt, ParserContextFree> parser(xmlNewParserCtxt());
    if (!parser || parser->sax == nullptr) {
        return internalError("could not allocate an XML parser context");
    }

    // The context owns its own SAX handler table, so these hooks affect this parse only.
    ParseGuard guard;
    guard.start_element = parser->sax->startElementNs;
    guard.end_element = parser->sax->endElementNs;
    parser->sax->internalSubset = onDoctype;
    parser->sax->startElementNs = onStartElement;
    parser->sax->endElementNs = onEndElement;
    parser->_private = &guard;

    // Without XML_PARSE_NOENT entities stay unexpanded and without XML_PARSE_DTDLOAD no
    // external subset is fetched. XML_PARSE_NONET blocks network access on top. Errors are
    // read from the context afterwards instead of being printed. "UTF-8" overrides any other
    // encoding the XML declaration names, since the bytes were checked as UTF-8 above.
    int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
    XmlDocPtr doc(xmlCtxtReadMemory(parser.get(), xml.data(), static_cast<int>(xml.size()), nullptr,
                                    "UTF-8", options));

    switch (guard.reason) {
        case StopReason::Doctype:
            return userError(what + " contains a DOCTYPE declaration at line " +
                             std::to_string(guard.line) +
                             ": DTDs and entity declarations are not allowed");
        case StopReason::TooDeep:
            return userError(what + " nests elements deeper than " +
                             std::to_string(kMaxTemplateDepth) + " levels at line " +
                             std::to_string(guard.line) + " (element <" + guard.element + ">)");
        case StopReason::None:
            break;
    }
    if (!doc || !parser->wellFormed) {
        return userError(describeParseError(xmlCtxtGetLastError(parser.get()), kind));
    }

    xmlNode* root = xmlDocGetRootElement(doc.get());
    if (root == nullptr) {
        return userError(what + " has no root element: expected <" + root_name + ">");
    }
    if (kind.root != nullptr && !isElement(root, kind.root)) {
        return userError(what + " root element must be <" + root_name + ">, found <" +
                         std::string(reinterpret_cast<const char*>(root->name)) + "> at line " +
                         std::to_string(xmlGetLineNo(root)));
    }
    return doc;
}

std::string xmlText(const xmlNode* node) {
    xmlChar* content = xmlNodeGetContent(node);
    if (content == nullptr) {
        return {};
    }
    std::string text(reinterpret_cast<const char*>(content));
    xmlFree(content);
    return text;
}

XmlAttribute xmlAttribute(const xmlNode* node, const char* name) {
    xmlChar* value = xmlGetNoNsProp(node, reinterpret_cast<const xmlChar*>(name));
    if (value == nullptr) {
        return {};
    }
    XmlAttribute attribute{true, reinterpret_cast<const char*>(value)};
    xmlFree(value);
    return attribute;
}

bool isElement(const xmlNode* node, const char* name) {
    return node != nullptr && node->type == XML_ELEMENT_NODE &&
           xmlStrEqual(node->name, reinterpret_cast<const xmlChar*>(name));
}

std::string escapeXml(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '\'':
                out += "&apos;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

const xmlNode* childElement(const xmlNode* node, const char* name) {
    for (const xmlNode* child = node ? node->children : nullptr; child; child = child->next) {
        if (isElement(child, name)) {
            return child;
        }
    }
    return nullptr;
}

}  // namespace imagefactory
