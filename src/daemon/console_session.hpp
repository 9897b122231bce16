#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "amqp/console_connection.hpp"
#include "core/error.hpp"
#include "qmf/console_protocol.hpp"

namespace imagefactory {

// A QMF2 console session for one caller thread: finds agents, queries objects, calls methods
// and collects events, over a ConsoleConnection. Every request waits at most the session's
// timeout for its reply, which is matched by correlation id. Heartbeats and events that arrive
// meanwhile are kept for listAgents() and nextEvent().
class ConsoleSession {
  public:
    ConsoleSession(amqp::ConsoleConnection::Options options, std::chrono::milliseconds timeout);

    Status open();

    // Broadcasts an agent-locate request and returns every agent that sent a locate response
    // or a heartbeat within wait, sorted by name.
    Result<std::vector<qmf::console::AgentInfo>> listAgents(std::chrono::milliseconds wait);

    // Restricts findImageFactory() to the agent with this full name or instance UUID.
    void setAgentFilter(std::string name_or_instance) {
        agent_filter_ = std::move(name_or_instance);
    }

    // The first Image Factory agent seen (locate response or heartbeat) within the timeout that
    // passes the agent filter.
    Result<qmf::console::AgentInfo> findImageFactory();

    Result<std::vector<qmf::console::DataObject>> queryClass(const std::string& agent_name,
                                                             const std::string& class_name);
    // The object at address, or a NotFound error.
    Result<qmf::console::DataObject> queryObject(const std::string& agent_name,
                                                 const qmf::ObjectAddress& address);

    // Calls a method. An _exception reply is a successful call whose result contains the remote
    // error.
    Result<qmf::console::MethodReply> call(const std::string& agent_name,
                                           const qmf::ObjectAddress& object,
                                           const std::string& method, const qmf::Map& arguments);

    // The next event received (earlier ones first), or nullopt after timeout.
    std::optional<qmf::console::Event> nextEvent(std::chrono::milliseconds timeout);

  private:
    qmf::console::RequestTarget targetFor(const std::string& agent_name);
    // Sends request and returns every reply message up to the last one: a query's replies end
    // with the first message without the partial property.
    Result<std::vector<qmf::Message>> exchange(const qmf::Message& request, bool multipart);
    // Files a message that is not the awaited reply: heartbeats, locate responses, events.
    void keep(const qmf::Message& message);

    amqp::ConsoleConnection connection_;
    std::chrono::milliseconds timeout_;
    std::string agent_filter_;
    uint64_t next_correlation_ = 1;
    std::map<std::string, qmf::console::AgentInfo> agents_;
    std::deque<qmf::console::Event> events_;
};

}  // namespace imagefactory
