#include "core/tdl_reader.hpp"

#include <cctype>

#include "core/template_xml.hpp"
#include "core/text.hpp"

namespace imagefactory {
namespace tdl_reader {

Error tdlError(std::string message, std::string_view path) {
    return userError(std::move(message) + " (" + std::string(path) + ")");
}

Error tdlError(std::string message, std::string_view path, std::string_view value) {
    return userError(std::move(message) + " (" + std::string(path) + " is " + quoteValue(value) +
                     ")");
}

std::vector<const xmlNode*> childElements(const xmlNode* parent, const char* name) {
    std::vector<const xmlNode*> found;
    for (const xmlNode* child = parent->children; child != nullptr; child = child->next) {
        if (isElement(child, name)) {
            found.push_back(child);
        }
    }
    return found;
}

Result<const xmlNode*> optionalChild(const xmlNode* parent, const char* name,
                                     std::string_view component, std::string_view path) {
    std::vector<const xmlNode*> found = childElements(parent, name);
    if (found.empty()) {
        return static_cast<const xmlNode*>(nullptr);
    }
    if (found.size() > 1) {
        std::string lines;
        for (const xmlNode* node : found) {
            lines += (lines.empty() ? "" : ", ") + std::to_string(xmlGetLineNo(node));
        }
        return userError("Expected 0 or 1 " + std::string(component) + " in TDL, saw " +
                         std::to_string(found.size()) + " (" + std::string(path) + " at lines " +
                         lines + ")");
    }
    return found.front();
}

Result<std::string> optionalText(const xmlNode* parent, const char* name,
                                 std::string_view component, std::string_view path) {
    Result<const xmlNode*> node = optionalChild(parent, name, component, path);
    if (!node) {
        return node.error();
    }
    if (*node == nullptr) {
        return std::string();
    }
    return std::string(trimWhitespace(xmlText(*node)));
}

Result<std::string> requiredText(const xmlNode* parent, const char* name,
                                 std::string_view component, std::string_view path) {
    Result<const xmlNode*> node = optionalChild(parent, name, component, path);
    if (!node) {
        return node.error();
    }
    if (*node == nullptr) {
        return tdlError("Failed to find " + std::string(component) + " in TDL",
                        std::string(path) + " is missing");
    }
    std::string text(trimWhitespace(xmlText(*node)));
    if (text.empty()) {
        return tdlError("Failed to find " + std::string(component) + " in TDL",
                        std::string(path) + " is empty");
    }
    return text;
}

std::optional<bool> parseBoolean(std::string_view text) {
    if (equalsNoCase(text, "true") || equalsNoCase(text, "yes")) {
        return true;
    }
    if (equalsNoCase(text, "false") || equalsNoCase(text, "no")) {
        return false;
    }
    return std::nullopt;
}

std::string urlHost(std::string_view url) {
    size_t scheme_end = url.find("://");
    if (scheme_end == std::string_view::npos) {
        return {};
    }
    std::string_view rest = url.substr(scheme_end + 3);
    rest = rest.substr(0, rest.find_first_of("/?#"));
    size_t at = rest.rfind('@');
    if (at != std::string_view::npos) {
        rest = rest.substr(at + 1);
    }

    std::string_view host;
    if (!rest.empty() && rest.front() == '[') {
        host = rest.substr(1, rest.find(']') - 1);
    } else {
        host = rest.substr(0, rest.find(':'));
    }

    std::string lowered;
    for (char c : host) {
        lowered.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
    return lowered;
}

bool isLocalHost(std::string_view host) {
    return host == "localhost" || host == "127.0.0.1" || host == "localhost.localdomain" ||
           host == "::1";
}

}  // namespace tdl_reader

}  // namespace imagefactory
