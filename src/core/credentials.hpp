#pragma once

#include <map>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace imagefactory {

// A secret text such as a password. The bytes are overwritten when the value goes away, and
// there is no stream operator, so a secret cannot reach a log line by accident.
class Secret {
  public:
    Secret() = default;
    explicit Secret(std::string value) : value_(std::move(value)) {}
    Secret(const Secret& other) = default;
    Secret& operator=(const Secret& other);
    ~Secret();

    const std::string& reveal() const { return value_; }
    bool empty() const { return value_.empty(); }

  private:
    std::string value_;
};

// The <provider_credentials> document of push_image, reduced to the one
// <TARGET_credentials> element it must hold: each child element's name and trimmed text.
struct ProviderCredentials {
    std::string element;                   // e.g. "libvirt_credentials"; empty when none given
    std::map<std::string, Secret> fields;  // e.g. "username", "password"

    bool empty() const { return element.empty(); }
    // The field's value, or nullptr when the document did not have it or it was blank.
    const Secret* find(const std::string& name) const;
};

// The element that carries a target's credentials: "mock_credentials", "rhevm_credentials",
// "openstack_credentials" for openstack-kvm, and so on.
std::string credentialsElementFor(std::string_view target);

// Parses credentials for target with the template parser's limits (size, UTF-8, no DOCTYPE,
// no entities, no network). Blank text gives empty credentials. Error messages name elements
// and never quote the document, because it contains secrets.
Result<ProviderCredentials> parseProviderCredentials(std::string_view xml, std::string_view target);

}  // namespace imagefactory
