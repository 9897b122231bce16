#include "core/text.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace imagefactory {

std::string quoteValue(std::string_view value, size_t max_chars) {
    std::string_view shown = value.substr(0, max_chars);

    std::string text = "\"";
    for (char c : shown) {
        auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            text.push_back('\\');
            text.push_back(c);
        } else if (c == '\n') {
            text += "\\n";
        } else if (c == '\t') {
            text += "\\t";
        } else if (byte < 0x20 || byte == 0x7f) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02X", byte);
            text += escaped;
        } else {
            // Bytes of 0x80 and above pass through so that UTF-8 names stay readable.
            text.push_back(c);
        }
    }
    text.push_back('"');

    if (shown.size() < value.size()) {
        text += "... (" + std::to_string(value.size()) + " bytes)";
    }
    return text;
}

std::string_view trimWhitespace(std::string_view text) {
    constexpr std::string_view kSpace = " \t\r\n\f\v";
    size_t first = text.find_first_not_of(kSpace);
    if (first == std::string_view::npos) {
        return {};
    }
    size_t last = text.find_last_not_of(kSpace);
    return text.substr(first, last - first + 1);
}

bool equalsNoCase(std::string_view a, std::string_view b) {
    return a.size() == b.size() && startsWithNoCase(a, b);
}

bool startsWithNoCase(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) {
        return false;
    }
    return std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) ==
               std::tolower(static_cast<unsigned char>(b));
    });
}

}  // namespace imagefactory
