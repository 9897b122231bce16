#pragma once

#include <string>
#include <string_view>

#include "amqp/broker_address.hpp"
#include "core/error.hpp"

namespace imagefactory::amqp {

inline constexpr std::string_view kDirectBindingDescriptor =
    "apache.org:legacy-amqp-direct-binding:string";
inline constexpr std::string_view kTopicBindingDescriptor =
    "apache.org:legacy-amqp-topic-binding:string";

// What a receiver subscribes to: messages routed to exchange with key, or, when exchange is
// empty, an existing queue named key.
struct Binding {
    std::string exchange;
    std::string key;
};

// A receiver's source: the address, and for qpidd a legacy binding filter (descriptor and key).
struct SourceSpec {
    std::string address;
    std::string filter_descriptor;  // empty: no filter
    std::string filter_key;
};

// RabbitMQ: `/exchange/<exchange>/<key>`, which binds a new queue, or `/amq/queue/<key>` for an
// existing queue. qpidd: the exchange as node
// with a topic-binding filter when the key has a `#` or `*` wildcard, else a direct-binding
// filter (the choice qpid::messaging makes); an existing queue is its own name, unfiltered.
SourceSpec sourceFor(BrokerType style, const Binding& binding);

// Where one outgoing message goes: the sender's target address, the node name (the message's
// `to` when an anonymous relay link is used) and the subject, which is the routing key.
struct Route {
    std::string target;
    std::string node;
    std::string subject;
};

// RabbitMQ: target `/exchange/<node>`, routing by subject. qpidd: target `<node>`.
Route routeToNode(BrokerType style, const std::string& node, const std::string& subject);

// Resolves a request's reply_to. Both styles accept `X/KEY` (node X, subject KEY, the form qpidd
// gives) and `/exchange/X/KEY` (the RabbitMQ form); a name without `/` is a node with an empty
// subject. RabbitMQ also accepts `/queue/Q`, `/amq/queue/Q` and `/topic/KEY` as targets. The
// split is at the first `/` after the exchange, so a key may contain `/`.
Result<Route> routeToReplyTo(BrokerType style, std::string_view reply_to);

}  // namespace imagefactory::amqp
