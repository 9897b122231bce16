#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace imagefactory {

inline constexpr size_t kMaxQuotedChars = 80;

// Formats value for an error message: in double quotes, with quotes, backslashes, control
// characters and bytes that are not valid UTF-8 escaped (\n, \t, \xNN) so that hostile input
// cannot forge terminal or log output. Input past max_chars bytes is cut off, and "..." and
// the full length are appended.
std::string quoteValue(std::string_view value, size_t max_chars = kMaxQuotedChars);

// The length of the valid UTF-8 sequence starting at text[offset] (1 to 4), or 0 when the
// bytes there are not valid UTF-8: overlong forms, UTF-16 surrogates and code points past
// U+10FFFF count as invalid. offset must be less than text.size().
size_t utf8SequenceLength(std::string_view text, size_t offset);

// The offset of the first byte that is not part of valid UTF-8, or npos.
size_t findInvalidUtf8(std::string_view text);

// text without leading and trailing ASCII whitespace.
std::string_view trimWhitespace(std::string_view text);

// ASCII case-insensitive comparisons.
bool equalsNoCase(std::string_view a, std::string_view b);
bool startsWithNoCase(std::string_view text, std::string_view prefix);

}  // namespace imagefactory
