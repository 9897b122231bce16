#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace imagefactory {

inline constexpr size_t kMaxQuotedChars = 80;

// Formats value for an error message: in double quotes, with quotes, backslashes and
// non-printable bytes escaped (\n, \t, \xNN) so that hostile input cannot forge terminal or
// log output, and cut after max_chars bytes of input with "..." and the full length added.
std::string quoteValue(std::string_view value, size_t max_chars = kMaxQuotedChars);

// text without leading and trailing ASCII whitespace.
std::string_view trimWhitespace(std::string_view text);

// ASCII case-insensitive comparisons.
bool equalsNoCase(std::string_view a, std::string_view b);
bool startsWithNoCase(std::string_view text, std::string_view prefix);

}  // namespace imagefactory
