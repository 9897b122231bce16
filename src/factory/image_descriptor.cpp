#include "factory/image_descriptor.hpp"

#include "core/template.hpp"
#include "core/template_xml.hpp"

namespace imagefactory {

namespace {

constexpr XmlDocumentKind kImageDescriptor{"image_desc", "image", true};

}  // namespace

Status checkImageDescriptor(std::string_view xml) {
    if (xml.empty()) {
        return userError("image_desc is empty; expected XML such as <image><name>N</name></image>");
    }
    if (xml.size() > kMaxTemplateBytes) {
        return userError("image_desc is " + std::to_string(xml.size()) + " bytes; the limit is " +
                         std::to_string(kMaxTemplateBytes));
    }
    auto doc = readXmlDocument(xml, kImageDescriptor);
    if (!doc.ok()) {
        return doc.error();
    }
    return okStatus();
}

std::string imageDescriptorName(std::string_view xml) {
    auto doc = readXmlDocument(xml, kImageDescriptor);
    if (!doc.ok()) {
        return {};
    }
    const xmlNode* name = childElement(xmlDocGetRootElement(doc->get()), "name");
    return name != nullptr ? xmlText(name) : std::string();
}

}  // namespace imagefactory
