#include "qmf/agent_state.hpp"

// The JobObserver side of the agent: job threads update BuildAdaptor objects and queue events
// here, and the AMQP thread drains them with takeEvents().
namespace imagefactory::qmf {

void Agent::State::queueEvent(const schema::Class& event_class, const std::string& object_name,
                              Map event_values) {
    Message message = newMessage(kDataIndication, "indication");
    message.node = std::string(kTopicExchange);
    message.subject = "agent.ind.event." + keyify(event_class.package) + "." + event_class.name +
                      "." + std::string(schema::severityWord(event_class.default_severity)) + "." +
                      keyify(schema::kVendor) + "." + keyify(schema::kProduct);
    message.properties[std::string(kContentKey)] = std::string(kContentEvent);
    message.content_type = std::string(kContentTypeList);

    event_values[std::string(schema::kAddr)] = addressOf(object_name).toMap();
    message.body = List{Map{{"_schema_id", event_class.id().toMap()},
                            {"_values", std::move(event_values)},
                            {"_severity", static_cast<int32_t>(event_class.default_severity)},
                            {"_timestamp", nowNanoseconds()}}};

    std::function<void()> wake;
    bool overflow_started = false;
    {
        std::lock_guard lock(mutex);
        events.push_back(std::move(message));
        while (events.size() > options.event_buffer_limit && !events.empty()) {
            events.pop_front();
            overflow_started = dropped_events == 0;
            ++dropped_events;
        }
        wake = wakeup;
    }
    if (overflow_started) {
        log->warn("event buffer full (limit {}): dropping the oldest events until they are sent",
                  options.event_buffer_limit);
    }
    if (wake) {
        wake();
    }
}

void Agent::onJobCreated(const JobSnapshot& job) {
    {
        std::lock_guard lock(state_->mutex);
        state_->ensureAdaptorLocked(job);
    }
    state_->log->debug("build adaptor created object={}", adaptorObjectName(job));
}

void Agent::onStatusChanged(const JobSnapshot& job, JobStatus old_status, JobStatus new_status) {
    std::string object_name;
    {
        std::lock_guard lock(state_->mutex);
        ObjectRecord& record = state_->ensureAdaptorLocked(job);
        record.values[std::string(schema::kStatus)] = std::string(jobStatusName(new_status));
        record.update_ts = nowNanoseconds();
        record.ended = isTerminal(new_status);
        object_name = record.name;
    }
    const schema::Class* event_class = schema::findClass(schema::kPackage, schema::kStatusEvent);
    state_->queueEvent(
        *event_class, object_name,
        Map{{std::string(schema::kEvent), std::string(schema::kEventStatus)},
            {std::string(schema::kNewStatus), std::string(jobStatusName(new_status))},
            {std::string(schema::kOldStatus), std::string(jobStatusName(old_status))}});
}

void Agent::onPercentChanged(const JobSnapshot& job, int percent_complete) {
    std::string object_name;
    {
        std::lock_guard lock(state_->mutex);
        ObjectRecord& record = state_->ensureAdaptorLocked(job);
        record.values[std::string(schema::kPercentComplete)] = int64_t{percent_complete};
        record.update_ts = nowNanoseconds();
        object_name = record.name;
    }
    const schema::Class* event_class = schema::findClass(schema::kPackage, schema::kPercentEvent);
    state_->queueEvent(*event_class, object_name,
                       Map{{std::string(schema::kEvent), std::string(schema::kEventPercentage)},
                           {std::string(schema::kPercentComplete), int64_t{percent_complete}}});
}

void Agent::onFailed(const JobSnapshot& job, const std::string& type, const std::string& info) {
    std::string object_name;
    {
        std::lock_guard lock(state_->mutex);
        object_name = state_->ensureAdaptorLocked(job).name;
    }
    const schema::Class* event_class = schema::findClass(schema::kPackage, schema::kFailedEvent);
    state_->queueEvent(*event_class, object_name,
                       Map{{std::string(schema::kEvent), std::string(schema::kEventFailure)},
                           {std::string(schema::kType), type},
                           {std::string(schema::kInfo), info}});
}

}  // namespace imagefactory::qmf
