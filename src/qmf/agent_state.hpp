#pragma once

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "factory/factory.hpp"
#include "qmf/agent.hpp"
#include "qmf/protocol.hpp"
#include "qmf/schema.hpp"

// Internals of Agent shared by its source files; not part of the public API.
namespace imagefactory::qmf {

// One data object the agent publishes.
struct ObjectRecord {
    std::string name;
    const schema::Class* schema_class = nullptr;
    Map values;
    std::string job_id;  // BuildAdaptors: the job they show
    bool ended = false;  // BuildAdaptors: the job reached COMPLETED or FAILED
    uint64_t create_ts = 0;
    uint64_t update_ts = 0;
};

// A failure of a method call, sent as an _exception.
struct CallError {
    QmfErrorCode code;
    std::string text;
};

// A method's output arguments, or why it failed.
using CallResult = std::variant<Map, CallError>;

struct Agent::State {
    State(Factory& factory_ref, AgentOptions agent_options);

    Factory& factory;
    const AgentOptions options;
    const std::string name;
    const uint64_t schema_updated_ns;
    std::shared_ptr<spdlog::logger> log;

    // Guards everything below: job threads update objects and queue events while the AMQP
    // thread reads them.
    mutable std::mutex mutex;
    std::map<std::string, ObjectRecord> objects;
    std::vector<std::string> object_order;  // creation order, for query results
    std::deque<Message> events;
    size_t dropped_events = 0;  // dropped since the buffer last overflowed
    std::function<void()> wakeup;
    // Replies of calls that finish on a worker thread (see deferCall), sent before events.
    std::deque<Message> deferred_replies;
    size_t deferred_running = 0;
    std::condition_variable deferred_done;

    ObjectAddress addressOf(const std::string& object_name) const {
        return ObjectAddress{name, object_name, options.epoch};
    }

    // The agent attributes of heartbeats and locate responses, timestamped now.
    Map attributes() const;

    // A message from this agent with the QMF2 application properties set.
    Message newMessage(std::string_view opcode, std::string_view method) const;
    // A reply to request: reply_to and correlation id copied from it.
    Message newReply(const Message& request, std::string_view opcode) const;
    Message exception(const Message& request, QmfErrorCode code, const std::string& text) const;

    // The object an address names, or nullopt: the name must exist, the agent name must be
    // this agent's (when given), and a non-zero epoch must be the current one.
    std::optional<ObjectRecord> findObject(const ObjectAddress& address) const;

    // Adds the BuildAdaptor of a job unless it exists; call with mutex held.
    ObjectRecord& ensureAdaptorLocked(const JobSnapshot& job);

    // Applies update (when set) to the job's BuildAdaptor, queues an event about it, and wakes
    // the AMQP thread.
    void queueEvent(const schema::Class& event_class, const JobSnapshot& job, Map event_values,
                    const std::function<void(ObjectRecord&)>& update);

    void handleLocate(const Message& request, std::vector<Message>& out) const;
    void handleQuery(const Message& request, std::vector<Message>& out) const;
    // encoded_form: the request came 0-10 encoded, so a reply sent later must be too.
    void handleMethod(const Message& request, std::vector<Message>& out, bool encoded_form);
    // The _method_response or _exception for a finished call.
    Message methodReply(const Message& request, const std::string& method_name,
                        const ObjectRecord& object, const Map& arguments, CallResult result) const;
    // Runs the call on a worker thread and queues its reply for takeEvents(), so that a slow
    // template download does not hold up the AMQP thread. False when too many run already.
    // The reply may reach the console after the first events of the jobs it started.
    bool deferCall(const Message& request, const ObjectRecord& object, const schema::Method& method,
                   const Map& arguments, bool encoded_form);
    // Waits until every deferred call has queued its reply.
    void joinDeferredCalls();
    // Runs a checked call on object; arguments hold every input argument of method.
    CallResult callMethod(const ObjectRecord& object, const schema::Method& method,
                          const Map& arguments);
    void handleQmf1(const Message& request, std::vector<Message>& out) const;
};

// message with its map or list body moved into a 0-10 encoded data section.
Message withBodyEncoded(Message message);

// The object name of a job's BuildAdaptor: build_adaptor:<method>:<job id>.
std::string adaptorObjectName(const JobSnapshot& job);

// The DATA map of an object as queries return it.
Map dataMap(const ObjectRecord& object, const ObjectAddress& address);

// A value's AMQP type in words, for error texts.
std::string valueTypeName(const Value& value);

}  // namespace imagefactory::qmf
