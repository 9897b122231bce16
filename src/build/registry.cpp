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
    std::string target = driver->target();
    drivers_[target] = std::move(driver);
}

Result<std::pair<ProviderDriver*, ProviderDefinition>> ProviderRegistry::resolve(
    const std::string& provider_argument) const {
    auto definition = catalog_.resolve(provider_argument);
    if (!definition.ok()) {
        return definition.error();
    }
    auto driver = drivers_.find(definition->target);
    if (driver == drivers_.end()) {
        std::string known;
        for (const std::string& target : targets()) {
            known += (known.empty() ? "" : ", ") + target;
        }
        return notFound("provider " + definition->name + " takes images of target " +
                        definition->target + ", which this factory cannot push to; it pushes to " +
                        known);
    }
    return std::make_pair(driver->second.get(), std::move(*definition));
}

std::vector<std::string> ProviderRegistry::targets() const {
    std::vector<std::string> targets;
    for (const auto& [target, driver] : drivers_) {
        targets.push_back(target);
    }
    return targets;
}

}  // namespace imagefactory
