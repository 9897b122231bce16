#include "factory/image_descriptor.hpp"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <memory>

#include "core/template.hpp"

namespace imagefactory {

namespace {

struct DocFree {
    void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocFree>;

// NONET and no NOENT/DTDLOAD: entities stay unexpanded and nothing is fetched.
DocPtr parseSafely(std::string_view xml) {
    int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
    return DocPtr(
        xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "image.xml", nullptr, options));
}

}  // namespace

Status checkImageDescriptor(std::string_view xml) {
    if (xml.empty()) {
        return userError("image_desc is empty; expected XML such as <image><name>N</name></image>");
    }
    if (xml.size() > kMaxTemplateBytes) {
        return userError("image_desc is " + std::to_string(xml.size()) + " bytes; the limit is " +
                         std::to_string(kMaxTemplateBytes));
    }
    DocPtr doc = parseSafely(xml);
    if (!doc) {
        return userError("image_desc is not well-formed XML: '" + std::string(xml.substr(0, 80)) +
                         "'");
    }
    if (doc->intSubset || doc->extSubset) {
        return userError("image_desc must not contain a DOCTYPE");
    }
    xmlNode* root = xmlDocGetRootElement(doc.get());
    if (!root || std::string_view(reinterpret_cast<const char*>(root->name)) != "image") {
        return userError("image_desc must have <image> as its root element");
    }
    return okStatus();
}

std::string imageDescriptorName(std::string_view xml) {
    DocPtr doc = parseSafely(xml);
    if (!doc) {
        return {};
    }
    xmlNode* root = xmlDocGetRootElement(doc.get());
    for (xmlNode* child = root ? root->children : nullptr; child; child = child->next) {
        if (child->type == XML_ELEMENT_NODE &&
            std::string_view(reinterpret_cast<const char*>(child->name)) == "name") {
            xmlChar* text = xmlNodeGetContent(child);
            std::string name = text ? reinterpret_cast<const char*>(text) : "";
            xmlFree(text);
            return name;
        }
    }
    return {};
}

}  // namespace imagefactory
