#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace imagefactory {

// Lowercase hex SHA-256 of data.
std::string sha256Hex(std::string_view data);

// Lowercase hex SHA-256 of a file's content, streamed.
Result<std::string> sha256File(const std::filesystem::path& path);

// Lowercase hex HMAC-SHA-256 of data under key.
std::string hmacSha256Hex(std::string_view key, std::string_view data);

}  // namespace imagefactory
