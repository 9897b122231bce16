#include "core/text.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace imagefactory {

size_t utf8SequenceLength(std::string_view text, size_t offset) {
    auto lead = static_cast<unsigned char>(text[offset]);
    size_t length = 0;
    unsigned char min_second = 0x80;
    unsigned char max_second = 0xbf;
    if (lead < 0x80) {
        return 1;
    } else if (lead >= 0xc2 && lead <= 0xdf) {
        length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        min_second = lead == 0xe0 ? 0xa0 : 0x80;  // no overlong forms
        max_second = lead == 0xed ? 0x9f : 0xbf;  // no UTF-16 surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        min_second = lead == 0xf0 ? 0x90 : 0x80;  // no overlong forms
        max_second = lead == 0xf4 ? 0x8f : 0xbf;  // nothing past U+10FFFF
    } else {
        return 0;
    }

    if (offset + length > text.size()) {
        return 0;
    }
    auto second = static_cast<unsigned char>(text[offset + 1]);
    if (second < min_second || second > max_second) {
        return 0;
    }
    for (size_t k = 2; k < length; ++k) {
        auto next = static_cast<unsigned char>(text[offset + k]);
        if (next < 0x80 || next > 0xbf) {
            return 0;
        }
    }
    return length;
}

size_t findInvalidUtf8(std::string_view text) {
    size_t offset = 0;
    while (offset < text.size()) {
        size_t length = utf8SequenceLength(text, offset);
        if (length == 0) {
            return offset;
        }
        offset += length;
    }
    return std::string_view::npos;
}

std::string quoteValue(std::string_view value, size_t max_chars) {
    std::string text = "\"";
    size_t offset = 0;
    while (offset < value.size() && offset < max_chars) {
        char c = value[offset];
        auto byte = static_cast<unsigned char>(c);
        size_t length = utf8SequenceLength(value, offset);
        if (length > 1) {
            // Valid multi-byte UTF-8 passes through so that non-English names stay readable.
            text.append(value.substr(offset, length));
            offset += length;
            continue;
        }
        if (c == '"' || c == '\\') {
            text.push_back('\\');
            text.push_back(c);
        } else if (c == '\n') {
            text += "\\n";
        } else if (c == '\t') {
            text += "\\t";
        } else if (byte < 0x20 || byte >= 0x7f) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\x%02X", byte);
            text += escaped;
        } else {
            text.push_back(c);
        }
        ++offset;
    }
    text.push_back('"');

    if (offset < value.size()) {
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
