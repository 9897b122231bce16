#include "core/template.hpp"

#include <filesystem>
#include <system_error>

#include "core/template_xml.hpp"
#include "core/text.hpp"
#include "core/uuid.hpp"

namespace imagefactory {
namespace {

constexpr std::string_view kAcceptedForms =
    "an XML document with a <template> root element, an http:// or https:// URL, the UUID of "
    "a stored template or target image, or the path of an existing template file";

// True when text contains the start of a <template> element, with or without attributes:
// "<template" followed by whitespace, '>' or '/'. "<templates>" and "<template_x>" do not
// count. Case is ignored so that a wrongly cased root reaches the XML checks and gets a
// precise message there.
bool containsTemplateStart(std::string_view text) {
    constexpr std::string_view kStart = "<template";
    for (size_t i = 0; i + kStart.size() <= text.size(); ++i) {
        if (!startsWithNoCase(text.substr(i), kStart)) {
            continue;
        }
        size_t next = i + kStart.size();
        if (next == text.size()) {
            return false;
        }
        char c = text[next];
        if (c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            return true;
        }
    }
    return false;
}

bool isExistingRegularFile(std::string_view arg) {
    // A NUL byte would silently cut the path short in the system call.
    if (arg.find('\0') != std::string_view::npos) {
        return false;
    }
    std::error_code error;
    return std::filesystem::is_regular_file(std::filesystem::path(arg), error);
}

}  // namespace

std::string_view templateFormName(TemplateForm form) {
    switch (form) {
        case TemplateForm::Xml:
            return "xml";
        case TemplateForm::Url:
            return "url";
        case TemplateForm::Uuid:
            return "uuid";
        case TemplateForm::Path:
            return "path";
    }
    return "unknown";
}

Result<TemplateForm> classifyTemplateArgument(std::string_view arg) {
    std::string_view text = trimWhitespace(arg);
    if (text.empty()) {
        return userError("template argument is empty: expected " + std::string(kAcceptedForms));
    }

    if (containsTemplateStart(text)) {
        return TemplateForm::Xml;
    }
    if (startsWithNoCase(text, "http://") || startsWithNoCase(text, "https://")) {
        return TemplateForm::Url;
    }
    if (isUuid(text)) {
        return TemplateForm::Uuid;
    }
    if (isExistingRegularFile(arg)) {
        return TemplateForm::Path;
    }
    return userError("template argument " + quoteValue(arg) + " is not a template: expected " +
                     std::string(kAcceptedForms));
}

Status checkTemplateXml(std::string_view xml) {
    Result<XmlDocPtr> doc = readTemplateDocument(xml);
    if (!doc) {
        return doc.error();
    }
    return okStatus();
}

std::string templateName(std::string_view xml) {
    Result<XmlDocPtr> doc = readTemplateDocument(xml);
    if (!doc) {
        return {};
    }

    const xmlNode* found = nullptr;
    for (const xmlNode* child = xmlDocGetRootElement(doc->get())->children; child != nullptr;
         child = child->next) {
        if (!isElement(child, "name")) {
            continue;
        }
        if (found != nullptr) {
            return {};  // two names: none of them is the name
        }
        found = child;
    }
    return found != nullptr ? std::string(trimWhitespace(xmlText(found))) : std::string();
}

}  // namespace imagefactory
