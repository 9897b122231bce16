#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "amqp/broker_address.hpp"
#include "qmf/message.hpp"

namespace imagefactory::amqp {

// What the connection needs from a QMF agent. qmf::Agent provides all of it; tests plug in
// small functions. Every function is called on the connection thread.
struct AgentHooks {
    std::string agent_name;  // the direct binding key, e.g. redhat.com:imagefactory:<uuid>
    std::function<void(const qmf::Message&, std::vector<qmf::Message>&)> handle;
    std::function<qmf::Message()> heartbeat;
    // Removes and returns up to max queued events, oldest first.
    std::function<std::vector<qmf::Message>(size_t)> take_events;
};

// Connects a QMF agent to a broker: receives console broadcasts (qmf.default.topic, key
// console.#) and requests addressed to the agent (qmf.default.direct, key = agent name), sends
// the agent's replies, a heartbeat at every (re)connect and every heartbeat interval, and the
// agent's queued events in order whenever wakeup() is called. While the broker is unreachable
// the events stay queued in the agent. Events are delivered at least once: those the broker had
// not confirmed when a connection ended are sent again after the reconnect, after the heartbeat
// and before the events queued since, so a console may see an event twice.
class AgentConnection {
  public:
    struct Options {
        BrokerAddress broker;
        BrokerType broker_type = BrokerType::Auto;
        std::chrono::seconds heartbeat_interval{10};
    };

    AgentConnection(Options options, AgentHooks hooks);
    ~AgentConnection();

    void start();
    // Closes the connection cleanly and joins the connection thread.
    void stop();

    // Asks the connection thread to send the agent's queued events. Safe from any thread and
    // cheap to call often: requests made before the previous one ran are merged.
    void wakeup();

    // For tests and diagnostics: true while connected with every receiver attached.
    bool ready() const;

  private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace imagefactory::amqp
