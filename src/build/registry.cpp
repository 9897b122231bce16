#include "build/provider.hpp"
#include "build/target.hpp"

namespace imagefactory {

void TargetRegistry::add(std::shared_ptr<Target> target) {
    std::string name = target->name();
    targets_[name] = std::move(target);
}

Target* TargetRegistry::find(const std::string& name) const {
    auto it = targets_.find(name);
    return it == targets_.end() ? nullptr : it->second.get();
}

std::vector<std::string> TargetRegistry::names() const {
    std::vector<std::string> names;
    for (const auto& [name, target] : targets_) {
        names.push_back(name);
    }
    return names;
}

void ProviderRegistry::add(std::shared_ptr<ProviderDriver> driver) {
    drivers_.push_back(std::move(driver));
}

Result<std::pair<ProviderDriver*, ProviderDefinition>> ProviderRegistry::resolve(
    const std::string& provider_argument) const {
    for (const auto& driver : drivers_) {
        ProviderDefinition definition;
        if (driver->resolve(provider_argument, definition)) {
            return std::make_pair(driver.get(), definition);
        }
    }
    std::string known;
    for (const std::string& name : names()) {
        known += (known.empty() ? "" : ", ") + name;
    }
    return notFound("unknown provider '" + provider_argument + "'; known providers: " + known);
}

std::vector<std::string> ProviderRegistry::names() const {
    std::vector<std::string> names;
    for (const auto& driver : drivers_) {
        names.push_back(driver->name());
    }
    return names;
}

}  // namespace imagefactory
