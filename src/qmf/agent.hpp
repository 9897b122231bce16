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
// BuildAdaptor per job, query and method dispatch, and events. It knows nothing of Proton:
// the AMQP layer passes decoded messages in and sends what comes out.
//
// Threads: handle(), heartbeat() and takeEvents() are called on the AMQP thread. The
// JobObserver callbacks come from job threads; they update the object table and queue events,
// then call the wake-up function so the AMQP thread drains them.
class Agent : public JobObserver {
  public:
    Agent(Factory& factory, AgentOptions options);
    ~Agent() override;

    const std::string& name() const;

    // Handles one incoming message and appends the replies (zero or more) to out.
    void handle(const Message& in, std::vector<Message>& out);

    Message heartbeat() const;

    void setEventWakeup(std::function<void()> wakeup);

    // Removes and returns up to max queued events, oldest first.
    std::vector<Message> takeEvents(size_t max);

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
