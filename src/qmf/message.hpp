#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "qmf/value.hpp"

namespace imagefactory::qmf {

// One QMF message as the AMQP layer hands it over, independent of Proton. Incoming messages
// carry the fields as received; outgoing ones say where they go through node and subject
// (heartbeats, events) or through reply_to (replies, resolved by the AMQP layer according to
// the broker's address style).
struct Message {
    std::string to;                       // incoming: the node it was sent to, when known
    std::string node;                     // outgoing: the exchange or queue to send to
    std::string subject;                  // routing key
    std::string reply_to;                 // incoming: where the reply goes; outgoing: reply target
    std::optional<Value> correlation_id;  // echoed unchanged on replies
    std::string content_type;             // "amqp/map", "amqp/list", "x-application/qmf"
    Map properties;                       // AMQP application-properties
    Value body;                           // the amqp-value section
    std::optional<std::string> data;      // a data section's bytes, when the body is one
    uint64_t ttl_ms = 0;                  // 0: no expiry
};

}  // namespace imagefactory::qmf
