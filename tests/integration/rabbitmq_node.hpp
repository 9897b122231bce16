#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace imagefactory::testing {

// A RabbitMQ node for integration tests, run with scripts/rabbitmq/{start,stop}.sh.
struct RabbitNode {
    uint16_t port = 5672;
    std::string base;         // RMQ_BASE of the node
    std::string definitions;  // RMQ_DEFINITIONS, empty for the project's definitions.json
};

// The port from RMQ_PORT, or 5672.
uint16_t rabbitPortFromEnvironment();

bool portAcceptsConnections(uint16_t port);

// Starts the node unless something already accepts connections on its port. Returns an error
// text when no broker can be reached afterwards.
std::optional<std::string> ensureRabbit(const RabbitNode& node);

// Starts or stops the node with the scripts; returns the scripts' exit status.
int startRabbit(const RabbitNode& node);
int stopRabbit(const RabbitNode& node);

}  // namespace imagefactory::testing
