#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "amqp/broker_address.hpp"
#include "amqp/routing.hpp"
#include "core/error.hpp"
#include "qmf/message.hpp"

namespace imagefactory::amqp {

// One AMQP 1.0 connection to a broker, driven by a Proton container on its own thread, that
// stays up: a refused, failed or lost connection (including a session the broker ended) is
// retried with a delay that doubles from first_retry_delay up to max_retry_delay, and each
// outage is logged once. After every (re)connect the receivers are attached again.
//
// Links: one session holds the receivers and the senders to well-known nodes; replies go on a
// second session with one cached sender per reply target, so that a console's bad reply_to
// (which RabbitMQ answers by ending the session) cannot take the receivers down.
//
// Threads: start(), stop() and post() may be called from any thread. The Handler callbacks, and
// send(), ready() and style(), run on the connection thread only, and must not block.
class BrokerConnection {
  public:
    struct Options {
        BrokerAddress broker;
        BrokerType broker_type = BrokerType::Auto;
        std::string container_id;  // also the prefix of every link name
        std::chrono::milliseconds first_retry_delay{200};
        std::chrono::milliseconds max_retry_delay{5000};
        std::chrono::milliseconds tick_interval{0};  // 0: on_tick is never called
    };

    struct Handler {
        // The bindings to receive from, for the address style in use. Called at each connect.
        std::function<std::vector<Binding>(BrokerType)> bindings;
        // Every receiver is attached; send() works from now until on_lost.
        std::function<void(BrokerType)> on_ready;
        std::function<void(qmf::Message&&)> on_message;
        // A connection attempt failed or the connection was lost, with the reason.
        std::function<void(const std::string&)> on_lost;
        std::function<void()> on_tick;
    };

    BrokerConnection(Options options, Handler handler);
    ~BrokerConnection();

    BrokerConnection(const BrokerConnection&) = delete;
    BrokerConnection& operator=(const BrokerConnection&) = delete;

    // Starts the connection thread; the first connection attempt follows at once.
    void start();
    // Closes the connection, waits up to two seconds for the broker's reply, and joins the
    // thread. Safe to call more than once.
    void stop();

    // Runs work on the connection thread. Returns false when the connection is stopped.
    bool post(std::function<void()> work);

    bool ready() const;
    BrokerType style() const;

    enum class Delivery {
        AtMostOnce,     // sent once; lost if the connection dies before the broker has it
        UntilAccepted,  // kept until the broker settles it, and resent after a reconnect
    };

    // Sends a message to message.node with message.subject, or, when node is empty, as a reply
    // to message.reply_to. Fails when not ready or when reply_to cannot be parsed.
    Status send(const qmf::Message& message, Delivery delivery = Delivery::AtMostOnce);

    // Sends again, in order, the UntilAccepted messages that the broker had not settled when
    // the previous connection ended. Call from on_ready; returns how many were resent.
    size_t resendUnconfirmed();

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace imagefactory::amqp
