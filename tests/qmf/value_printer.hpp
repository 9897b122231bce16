#pragma once

#include <ostream>

#include "qmf/value_json.hpp"

namespace imagefactory::qmf {

// Lets GoogleTest print a Value in failure messages as typed JSON.
inline void PrintTo(const Value& value, std::ostream* out) {
    *out << toJson(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace imagefactory::qmf
