#include "amqp/broker_address.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

namespace imagefactory::amqp {
namespace {

// The input with the password part of a URL's user information masked, for error messages.
std::string masked(std::string_view text) {
    constexpr std::string_view kScheme = "amqp://";
    if (text.substr(0, kScheme.size()) != kScheme) {
        return std::string(text);
    }
    auto rest = text.substr(kScheme.size());
    auto at = rest.rfind('@');
    if (at == std::string_view::npos) {
        return std::string(text);
    }
    auto userinfo = rest.substr(0, at);
    auto colon = userinfo.find(':');
    if (colon == std::string_view::npos) {
        return std::string(text);
    }
    return std::string(kScheme) + std::string(userinfo.substr(0, colon)) + ":***" +
           std::string(rest.substr(at));
}

Error invalid(std::string_view text, const std::string& why) {
    return userError("invalid broker address '" + masked(text) + "': " + why +
                     " (expected host, host:port or amqp://[user:password@]host[:port])");
}

bool isHostChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

std::optional<std::string> percentDecode(std::string_view text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out += text[i];
            continue;
        }
        if (i + 2 >= text.size()) {
            return std::nullopt;
        }
        int byte = 0;
        auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, byte, 16);
        if (ec != std::errc() || end != text.data() + i + 3) {
            return std::nullopt;
        }
        out += static_cast<char>(byte);
        i += 2;
    }
    return out;
}

}  // namespace

std::string BrokerAddress::hostPort() const {
    bool ipv6 = host.find(':') != std::string::npos;
    return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string BrokerAddress::display() const {
    return user.empty() ? hostPort() : user + "@" + hostPort();
}

Result<BrokerAddress> parseBrokerAddress(std::string_view text) {
    BrokerAddress out;
    std::string_view rest = text;
    if (rest.empty()) {
        return invalid(text, "empty");
    }
    if (auto scheme_end = rest.find("://"); scheme_end != std::string_view::npos) {
        if (rest.substr(0, scheme_end) != "amqp") {
            return invalid(text, "only the amqp scheme is supported");
        }
        rest.remove_prefix(scheme_end + 3);
        if (!rest.empty() && rest.back() == '/') {
            rest.remove_suffix(1);
        }
        if (rest.find('/') != std::string_view::npos || rest.find('?') != std::string_view::npos ||
            rest.find('#') != std::string_view::npos) {
            return invalid(text, "a path, query or fragment is not allowed");
        }
        if (auto at = rest.rfind('@'); at != std::string_view::npos) {
            auto userinfo = rest.substr(0, at);
            rest.remove_prefix(at + 1);
            auto colon = userinfo.find(':');
            auto user = percentDecode(userinfo.substr(0, colon));
            if (!user || user->empty()) {
                return invalid(text, "invalid or empty user name");
            }
            out.user = *user;
            if (colon != std::string_view::npos) {
                auto password = percentDecode(userinfo.substr(colon + 1));
                if (!password) {
                    return invalid(text, "invalid percent escape in the password");
                }
                out.password = *password;
            }
        }
    }

    std::string_view port_text;
    if (!rest.empty() && rest.front() == '[') {
        auto close = rest.find(']');
        if (close == std::string_view::npos) {
            return invalid(text, "missing ']' after an IPv6 host");
        }
        out.host = std::string(rest.substr(1, close - 1));
        auto after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                return invalid(text, "unexpected text after ']'");
            }
            port_text = after.substr(1);
            if (port_text.empty()) {
                return invalid(text, "empty port");
            }
        }
        bool ipv6_ok =
            !out.host.empty() && std::all_of(out.host.begin(), out.host.end(), [](char c) {
                return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
            });
        if (!ipv6_ok) {
            return invalid(text, "invalid IPv6 host");
        }
    } else {
        auto colon = rest.find(':');
        out.host = std::string(rest.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = rest.substr(colon + 1);
            if (port_text.empty()) {
                return invalid(text, "empty port");
            }
        }
        if (out.host.empty()) {
            return invalid(text, "empty host");
        }
        if (!std::all_of(out.host.begin(), out.host.end(), isHostChar)) {
            return invalid(text, "invalid character in host");
        }
    }

    if (!port_text.empty()) {
        unsigned port = 0;
        auto [end, ec] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
            port > 65535) {
            return invalid(text, "port must be a number from 1 to 65535");
        }
        out.port = static_cast<uint16_t>(port);
    }
    return out;
}

Result<BrokerType> parseBrokerType(std::string_view text) {
    if (text == "auto") {
        return BrokerType::Auto;
    }
    if (text == "qpidd") {
        return BrokerType::Qpidd;
    }
    if (text == "rabbitmq") {
        return BrokerType::RabbitMq;
    }
    return userError("invalid broker type '" + std::string(text) +
                     "' (expected auto, qpidd or rabbitmq)");
}

std::string_view brokerTypeName(BrokerType type) {
    switch (type) {
        case BrokerType::Auto:
            return "auto";
        case BrokerType::Qpidd:
            return "qpidd";
        case BrokerType::RabbitMq:
            return "rabbitmq";
    }
    return "auto";
}

BrokerType brokerTypeFromProduct(std::string_view product) {
    std::string lower(product);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lower.find("rabbitmq") != std::string::npos ? BrokerType::RabbitMq : BrokerType::Qpidd;
}

}  // namespace imagefactory::amqp
