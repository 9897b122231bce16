#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "jobs/job_observer.hpp"
#include "qmf/message.hpp"

namespace imagefactory {
class Factory;
}

namespace imagefactory::qmf {

struct AgentOptions {
    std::string instance;  // UUID part of the agent name
    uint32_t epoch = 1;    // increases at every start
    uint32_t heartbeat_interval_seconds = 10;
    size_t event_buffer_limit = 10000;  // events kept while the broker is unreachable
};

// The QMF2 agent redhat.com:imagefactory:<instance>: schemas, the ImageFactory object, one
// BuildAdaptor per job, query and method dispatch, and events. It does not use Proton:
// the AMQP layer passes decoded messages in and sends what comes out.
//
// Outgoing messages carry the QMF2 application properties (x-amqp-0-10.app-id qmf2,
// qmf.opcode, method, qmf.agent, and qmf.content where the protocol needs it) and a
// content_type matching the body. Replies set reply_to (copied from the request, for the AMQP
// layer to resolve) and the request's correlation id unchanged, and leave node and subject
// empty. Heartbeats and events set node and subject instead and have no correlation id.
//
// Threads: handle(), heartbeat() and takeEvents() are called on the AMQP thread. The
// JobObserver callbacks come from job threads; they update the object table and queue events,
// then call the wake-up function so the AMQP thread drains them. Register the agent with
// Factory::addObserver() before the first method call.
class Agent : public JobObserver {
  public:
    Agent(Factory& factory, AgentOptions options);
    ~Agent() override;

    const std::string& name() const;
    uint32_t epoch() const;

    // Handles one incoming message and appends the replies (zero or more) to out. A request
    // without reply_to gets none. A data section with content type amqp/map or amqp/list is
    // decoded as AMQP 0-10, and its replies are encoded the same way (in data, body null). A
    // data section starting with "AM2" is a QMFv1 request.
    void handle(const Message& in, std::vector<Message>& out);

    // A heartbeat to publish now: node qmf.default.topic, ttl twice the interval.
    Message heartbeat() const;

    // Sets the function called (on a job thread, without locks held) after an event is queued.
    void setEventWakeup(std::function<void()> wakeup);

    // Removes and returns up to max queued events, oldest first. When the buffer contains more
    // than options.event_buffer_limit events the oldest are dropped and counted in the log.
    std::vector<Message> takeEvents(size_t max);
    size_t pendingEvents() const;

    void onJobCreated(const JobSnapshot& job) override;
    void onStatusChanged(const JobSnapshot& job, JobStatus old_status,
                         JobStatus new_status) override;
    void onPercentChanged(const JobSnapshot& job, int percent_complete) override;
    void onFailed(const JobSnapshot& job, const std::string& type,
                  const std::string& info) override;

  private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace imagefactory::qmf
