#include "core/base64.hpp"

#include <cstdint>

#include "core/text.hpp"

namespace imagefactory {
namespace {

int sextetOf(char c) {
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

bool isSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

Result<std::string> decodeBase64(std::string_view text) {
    std::string decoded;
    decoded.reserve(text.size() / 4 * 3);

    uint32_t group = 0;  // up to four sextets, most significant first
    int sextets = 0;     // sextets collected in group
    int padding = 0;     // '=' characters seen; only whitespace and '=' may follow the first

    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (isSpace(c)) {
            continue;
        }
        if (c == '=') {
            ++padding;
            continue;
        }
        int sextet = sextetOf(c);
        if (sextet < 0) {
            return userError("invalid base64: character " + quoteValue(text.substr(i, 1)) +
                             " at offset " + std::to_string(i) + " is not in the alphabet");
        }
        if (padding > 0) {
            return userError("invalid base64: data after '=' padding at offset " +
                             std::to_string(i));
        }

        group = (group << 6) | static_cast<uint32_t>(sextet);
        if (++sextets == 4) {
            decoded.push_back(static_cast<char>(group >> 16));
            decoded.push_back(static_cast<char>((group >> 8) & 0xff));
            decoded.push_back(static_cast<char>(group & 0xff));
            group = 0;
            sextets = 0;
        }
    }

    // A final group of two or three sextets carries one or two bytes; a single sextet
    // cannot hold a whole byte.
    if (sextets == 1) {
        return userError("invalid base64: the length is not a valid base64 length (" +
                         std::to_string(text.size()) + " bytes)");
    }
    if (padding > 0 && (sextets == 0 || sextets + padding != 4)) {
        return userError("invalid base64: wrong number of '=' padding characters (" +
                         std::to_string(padding) + ")");
    }
    if (sextets == 2) {
        decoded.push_back(static_cast<char>(group >> 4));
    } else if (sextets == 3) {
        decoded.push_back(static_cast<char>(group >> 10));
        decoded.push_back(static_cast<char>((group >> 2) & 0xff));
    }
    return decoded;
}

}  // namespace imagefactory
