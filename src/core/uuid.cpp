#include "core/uuid.hpp"

#include <cctype>
#include <cstdint>
#include <random>

namespace imagefactory {

std::string newUuid() {
    static thread_local std::random_device device;
    static thread_local std::mt19937_64 generator{(static_cast<uint64_t>(device()) << 32) ^
                                                  device()};
    uint8_t bytes[16];
    for (int i = 0; i < 16; i += 8) {
        uint64_t word = generator();
        for (int j = 0; j < 8; ++j) {
            bytes[i + j] = static_cast<uint8_t>(word >> (8 * j));
        }
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;  // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80;  // RFC 4122 variant

    static const char* digits = "0123456789abcdef";
    std::string text;
    text.reserve(36);
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            text.push_back('-');
        }
        text.push_back(digits[bytes[i] >> 4]);
        text.push_back(digits[bytes[i] & 0x0f]);
    }
    return text;
}

namespace {

bool matchesUuidAt(std::string_view text, size_t start, bool lowercase_only) {
    if (text.size() < start + 36) {
        return false;
    }
    for (size_t i = 0; i < 36; ++i) {
        char c = text[start + i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') {
                return false;
            }
            continue;
        }
        bool digit = c >= '0' && c <= '9';
        bool lower = c >= 'a' && c <= 'f';
        bool upper = c >= 'A' && c <= 'F';
        if (!(digit || lower || (upper && !lowercase_only))) {
            return false;
        }
    }
    return true;
}

}  // namespace

bool isUuid(std::string_view text) {
    return text.size() == 36 && matchesUuidAt(text, 0, false);
}

std::string findUuid(std::string_view text) {
    for (size_t i = 0; i + 36 <= text.size(); ++i) {
        if (matchesUuidAt(text, i, true)) {
            return std::string(text.substr(i, 36));
        }
    }
    return {};
}

}  // namespace imagefactory
