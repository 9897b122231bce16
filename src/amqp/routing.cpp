#include "amqp/routing.hpp"

#include <algorithm>

namespace imagefactory::amqp {
namespace {

constexpr std::string_view kExchangePrefix = "/exchange/";
constexpr size_t kMaxReplyToLength = 1024;

bool hasControlCharacter(std::string_view text) {
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

Error invalidReplyTo(std::string_view reply_to, const std::string& why) {
    std::string shown(reply_to.substr(0, 200));
    if (hasControlCharacter(shown)) {
        shown = "(contains control characters)";
    }
    return userError("invalid reply_to '" + shown + "': " + why);
}

Route exchangeRoute(BrokerType style, std::string_view exchange, std::string_view key) {
    return routeToNode(style, std::string(exchange), std::string(key));
}

}  // namespace

SourceSpec sourceFor(BrokerType style, const Binding& binding) {
    SourceSpec spec;
    if (binding.exchange.empty()) {
        spec.address = style == BrokerType::RabbitMq ? "/amq/queue/" + binding.key : binding.key;
        return spec;
    }
    if (style == BrokerType::RabbitMq) {
        spec.address = std::string(kExchangePrefix) + binding.exchange + "/" + binding.key;
        return spec;
    }
    spec.address = binding.exchange;
    bool wildcard = binding.key.find_first_of("#*") != std::string::npos;
    spec.filter_descriptor = wildcard ? kTopicBindingDescriptor : kDirectBindingDescriptor;
    spec.filter_key = binding.key;
    return spec;
}

Route routeToNode(BrokerType style, const std::string& node, const std::string& subject) {
    Route route;
    route.node = node;
    route.subject = subject;
    route.target = style == BrokerType::RabbitMq ? std::string(kExchangePrefix) + node : node;
    return route;
}

Result<Route> routeToReplyTo(BrokerType style, std::string_view reply_to) {
    if (reply_to.empty()) {
        return invalidReplyTo(reply_to, "empty");
    }
    if (reply_to.size() > kMaxReplyToLength) {
        return invalidReplyTo(reply_to,
                              "longer than " + std::to_string(kMaxReplyToLength) + " bytes");
    }
    if (hasControlCharacter(reply_to)) {
        return invalidReplyTo(reply_to, "contains control characters");
    }

    if (reply_to.substr(0, kExchangePrefix.size()) == kExchangePrefix) {
        auto rest = reply_to.substr(kExchangePrefix.size());
        auto slash = rest.find('/');
        auto exchange = rest.substr(0, slash);
        if (exchange.empty()) {
            return invalidReplyTo(reply_to, "no exchange name after /exchange/");
        }
        auto key = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
        return exchangeRoute(style, exchange, key);
    }

    if (reply_to.front() == '/') {
        bool rabbit_target = reply_to.substr(0, 7) == "/queue/" ||
                             reply_to.substr(0, 11) == "/amq/queue/" ||
                             reply_to.substr(0, 7) == "/topic/";
        if (style != BrokerType::RabbitMq || !rabbit_target) {
            return invalidReplyTo(reply_to, "unsupported address form");
        }
        Route route;
        route.target = std::string(reply_to);
        route.node = route.target;
        return route;
    }

    auto slash = reply_to.find('/');
    if (slash == std::string_view::npos) {
        // A bare name is a queue or an exchange on qpidd and a queue on RabbitMQ; either way
        // the name itself is the target.
        Route route;
        route.target = std::string(reply_to);
        route.node = route.target;
        return route;
    }
    return exchangeRoute(style, reply_to.substr(0, slash), reply_to.substr(slash + 1));
}

}  // namespace imagefactory::amqp
