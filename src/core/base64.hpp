#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace imagefactory {

// Decodes standard base64 (RFC 4648 alphabet with '+' and '/'). ASCII whitespace anywhere is
// skipped, because templates wrap long base64 text over many lines. Padding is optional but
// must be correct when present. Empty input decodes to an empty string. Any other character,
// a lone trailing character or data after padding is a UserInput error.
Result<std::string> decodeBase64(std::string_view text);

}  // namespace imagefactory
