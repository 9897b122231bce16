#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "amqp/broker_address.hpp"
#include "core/error.hpp"
#include "qmf/message.hpp"

namespace imagefactory::amqp {

// The transport of a QMF console: a private reply address and a subscription to agent
// indications (heartbeats, events), with a blocking receive for a single-threaded caller.
//
// Reply address: brokers without dynamic queues (RabbitMQ) get a unique binding
// `/exchange/qmf.default.direct/imagefactory-console.<uuid>`; qpidd gets a receiver on
// qmf.default.topic with the direct binding `direct-console.<uuid>` and reply_to
// `qmf.default.topic/direct-console.<uuid>`, as the qpid consoles use.
class ConsoleConnection {
  public:
    struct Options {
        BrokerAddress broker;
        BrokerType broker_type = BrokerType::Auto;
        bool receive_indications = true;  // subscribe to qmf.default.topic agent.ind.#
        // When set, indications are read from this existing queue instead of a new binding,
        // so that none are lost while the console is disconnected (the queue must be bound to
        // qmf.default.topic beforehand, for example by the broker's definitions).
        std::string indication_queue;
    };

    explicit ConsoleConnection(Options options);
    ~ConsoleConnection();

    // Connects and waits until the receivers are attached. The error names the broker and the
    // last connection failure.
    Status open(std::chrono::milliseconds timeout);
    void close();

    // The reply_to for requests. Valid after open().
    std::string replyTo() const;

    // Sends a request (node and subject set; reply_to is filled in when empty). Thread-safe.
    Status send(qmf::Message message);

    // The next received message, or nullopt after timeout.
    std::optional<qmf::Message> receive(std::chrono::milliseconds timeout);

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace imagefactory::amqp
