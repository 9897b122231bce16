#include "qmf/value.hpp"

#include <limits>

namespace imagefactory::qmf {

std::optional<std::string> Value::text() const {
    if (const auto* s = std::get_if<std::string>(&data_)) {
        return *s;
    }
    if (const auto* b = std::get_if<Binary>(&data_)) {
        return b->bytes;
    }
    return std::nullopt;
}

std::optional<int64_t> Value::integer() const {
    if (const auto* v = std::get_if<int32_t>(&data_)) {
        return *v;
    }
    if (const auto* v = std::get_if<int64_t>(&data_)) {
        return *v;
    }
    if (const auto* v = std::get_if<uint32_t>(&data_)) {
        return *v;
    }
    if (const auto* v = std::get_if<uint64_t>(&data_)) {
        if (*v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
            return std::nullopt;
        }
        return static_cast<int64_t>(*v);
    }
    return std::nullopt;
}

std::optional<std::string> textField(const Map& map, const std::string& key) {
    auto it = map.find(key);
    if (it == map.end()) {
        return std::nullopt;
    }
    return it->second.text();
}

}  // namespace imagefactory::qmf
