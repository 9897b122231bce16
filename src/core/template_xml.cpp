#include "core/template_xml.hpp"

#include <libxml/SAX2.h>
#include <libxml/parser.h>

#include <mutex>

#include "core/template.hpp"
#include "core/text.hpp"

namespace imagefactory {
namespace {

// Why the SAX hooks stopped the parser early, if they did.
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

// Returns the offset of the first byte that is not part of a valid UTF-8 sequence (overlong
// forms, surrogates and code points past U+10FFFF included), or npos.
size_t findInvalidUtf8(std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
        auto lead = static_cast<unsigned char>(text[i]);
        size_t length = 0;
        unsigned char min_second = 0x80;
        unsigned char max_second = 0xbf;
        if (lead < 0x80) {
            ++i;
            continue;
        } else if (lead >= 0xc2 && lead <= 0xdf) {
            length = 2;
        } else if (lead >= 0xe0 && lead <= 0xef) {
            length = 3;
            min_second = lead == 0xe0 ? 0xa0 : 0x80;  // no overlong forms
            max_second = lead == 0xed ? 0x9f : 0xbf;  // no UTF-16 surrogates
        } else if (lead >= 0xf0 && lead <= 0xf4) {
            length = 4;
            min_second = lead == 0xf0 ? 0x90 : 0x80;  // no overlong forms
            max_second = lead == 0xf4 ? 0x8f : 0xbf;  // nothing past U+10FFFF
        } else {
            return i;
        }

        if (i + length > text.size()) {
            return i;
        }
        auto second = static_cast<unsigned char>(text[i + 1]);
        if (second < min_second || second > max_second) {
            return i;
        }
        for (size_t k = 2; k < length; ++k) {
            auto next = static_cast<unsigned char>(text[i + k]);
            if (next < 0x80 || next > 0xbf) {
                return i;
            }
        }
        i += length;
    }
    return std::string_view::npos;
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

std::string describeParseError(const xmlError* error) {
    if (error == nullptr || error->message == nullptr) {
        return "template is not well-formed XML";
    }
    std::string detail = error->message;
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) {
        detail.pop_back();
    }
    std::string where = error->line > 0 ? " at line " + std::to_string(error->line) : "";
    return "template is not well-formed XML" + where + ": " + detail;
}

struct ParserContextFree {
    void operator()(xmlParserCtxt* context) const { xmlFreeParserCtxt(context); }
};

}  // namespace

Result<XmlDocPtr> readTemplateDocument(std::string_view xml) {
    // The size check comes first so that an oversized document costs no parsing at all.
    if (xml.size() > kMaxTemplateBytes) {
        return userError("template is " + std::to_string(xml.size()) +
                         " bytes, larger than the limit of " + std::to_string(kMaxTemplateBytes) +
                         " bytes (1 MiB)");
    }
    if (xml.find_first_not_of(" \t\r\n") == std::string_view::npos) {
        return userError("template is empty: expected an XML document with a <template> root");
    }
    size_t bad_byte = findInvalidUtf8(xml);
    if (bad_byte != std::string_view::npos) {
        return userError("template is not valid UTF-8: invalid byte " +
                         quoteValue(xml.substr(bad_byte, 1)) + " at offset " +
                         std::to_string(bad_byte) + " (line " +
                         std::to_string(lineAt(xml, bad_byte)) + ")");
    }

    // xmlInitParser is not safe to race with itself on older libxml2 releases.
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
            return userError("template contains a DOCTYPE declaration at line " +
                             std::to_string(guard.line) +
                             ": DTDs and entity declarations are not allowed in templates");
        case StopReason::TooDeep:
            return userError("template nests elements deeper than " +
                             std::to_string(kMaxTemplateDepth) + " levels at line " +
                             std::to_string(guard.line) + " (element <" + guard.element + ">)");
        case StopReason::None:
            break;
    }
    if (!doc || !parser->wellFormed) {
        return userError(describeParseError(xmlCtxtGetLastError(parser.get())));
    }

    xmlNode* root = xmlDocGetRootElement(doc.get());
    if (root == nullptr) {
        return userError("template has no root element: expected <template>");
    }
    if (!isElement(root, "template")) {
        return userError("template root element must be <template>, found <" +
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

}  // namespace imagefactory
