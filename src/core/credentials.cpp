#include "core/credentials.hpp"

#include <algorithm>

#include "core/template_xml.hpp"
#include "core/text.hpp"

namespace imagefactory {

namespace {

// Overwrites the characters in place before the string lets go of its buffer. The volatile
// pointer keeps the compiler from dropping stores to memory that is about to be freed.
void wipe(std::string& text) {
    volatile char* bytes = text.data();
    for (size_t i = 0; i < text.size(); ++i) {
        bytes[i] = '\0';
    }
    text.clear();
}

// An element name for a message. XML names hold no quotes or control characters, so only the
// length needs bounding.
std::string elementName(const xmlNode* node) {
    std::string name = reinterpret_cast<const char*>(node->name);
    return name.size() > 40 ? name.substr(0, 40) + "..." : name;
}

}  // namespace

Secret& Secret::operator=(const Secret& other) {
    if (this != &other) {
        wipe(value_);
        value_ = other.value_;
    }
    return *this;
}

Secret::~Secret() {
    wipe(value_);
}

const Secret* ProviderCredentials::find(const std::string& name) const {
    auto it = fields.find(name);
    return it == fields.end() || it->second.empty() ? nullptr : &it->second;
}

std::string credentialsElementFor(std::string_view target) {
    // The original named the OpenStack element after the cloud, not after the target.
    if (target == "openstack-kvm") {
        return "openstack_credentials";
    }
    std::string element(target);
    std::replace(element.begin(), element.end(), '-', '_');
    return element + "_credentials";
}

Result<ProviderCredentials> parseProviderCredentials(std::string_view xml,
                                                     std::string_view target) {
    ProviderCredentials credentials;
    if (trimWhitespace(xml).empty()) {
        return credentials;
    }
    auto doc = readXmlDocument(xml, {"credentials document", "provider_credentials", false});
    if (!doc.ok()) {
        return doc.error();
    }
    const std::string expected = credentialsElementFor(target);
    const xmlNode* root = xmlDocGetRootElement(doc->get());
    const xmlNode* element = nullptr;
    for (const xmlNode* child = root->children; child; child = child->next) {
        if (child->type != XML_ELEMENT_NODE) {
            continue;
        }
        if (element != nullptr) {
            return userError(
                "credentials hold more than one element under <provider_credentials>; "
                "expected only <" +
                expected + ">");
        }
        element = child;
    }
    if (element == nullptr) {
        return userError("credentials have no <" + expected + "> under <provider_credentials>");
    }
    if (!isElement(element, expected.c_str())) {
        return userError("credentials for target " + std::string(target) + " must be in <" +
                         expected + ">, found <" + elementName(element) + ">");
    }
    credentials.element = expected;
    for (const xmlNode* child = element->children; child; child = child->next) {
        if (child->type != XML_ELEMENT_NODE) {
            continue;
        }
        const std::string name = reinterpret_cast<const char*>(child->name);
        if (credentials.fields.count(name) != 0) {
            return userError("credentials repeat <" + elementName(child) + "> in <" + expected +
                             ">");
        }
        std::string text = xmlText(child);
        credentials.fields.emplace(name, Secret(std::string(trimWhitespace(text))));
        wipe(text);
    }
    return credentials;
}

}  // namespace imagefactory
