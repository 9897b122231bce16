#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace imagefactory::amqp {

// Where the broker is and how to log in. An empty user means SASL ANONYMOUS; a user means SASL
// PLAIN with password.
struct BrokerAddress {
    std::string host;
    uint16_t port = 5672;
    std::string user;
    std::string password;

    // The address as Proton's container::connect expects it (host and port only; the
    // credentials go through connection options so that they never appear in a URL).
    std::string hostPort() const;
    // host:port with the user but never the password, for logs and error messages.
    std::string display() const;
};

// Parses `host`, `host:port` or `amqp://[user[:password]@]host[:port]`. An IPv6 host is
// written in brackets (`[::1]:5672`). The default port is 5672. Percent escapes in the user and
// password are decoded. Errors name the value, with any password replaced by `***`.
Result<BrokerAddress> parseBrokerAddress(std::string_view text);

// Which addresses the broker understands.
enum class BrokerType {
    Auto,      // decided from the product name the broker sends when the connection opens
    Qpidd,     // exchange name as node, binding key in a legacy binding filter
    RabbitMq,  // /exchange/<name>/<key> addresses of the RabbitMQ AMQP 1.0 plugin
};

// Parses `auto`, `qpidd` or `rabbitmq`.
Result<BrokerType> parseBrokerType(std::string_view text);
std::string_view brokerTypeName(BrokerType type);

// The address style for a broker whose open frame carried this "product" property. RabbitMQ
// sends "RabbitMQ" and qpidd "qpid-cpp"; anything else gets the qpidd style, which follows the
// AMQP 1.0 node and filter model.
BrokerType brokerTypeFromProduct(std::string_view product);

}  // namespace imagefactory::amqp
