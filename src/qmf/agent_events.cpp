#include "qmf/agent_state.hpp"

// The JobObserver side of the agent: job threads update BuildAdaptor objects and queue events
// here, and the AMQP thread drains them with takeEvents().
namespace imagefactory::qmf {

void Agent::State::queueEvent(const schema::Class& event_class, const JobSnapshot& job,
                              Map event_values, const std::function<void(ObjectRecord&)>& update) {
    Message message = newMessage(kDataIndication, "indication");
    message.node = std::string(kTopicExchange);
    message.subject = "agent.ind.event." + keyify(event_class.package) + "." + event_class.name +
                      "." + std::string(schema::severityWord(event_class.default_severity)) + "." +
                      keyify(schema::kVendor) + "." + keyify(schema::kProduct);
    message.properties[std::string(kContentKey)] = std::string(kContentEvent);
    message.content_type = std::string(kContentTypeList);

    event_values[std::string(schema::kAddr)] = addressOf(adaptorObjectName(job)).toMap();
    message.body = List{Map{{"_schema_id", event_class.id().toMap()},
                            {"_values", std::move(event_values)},
                            {"_severity", static_cast<int32_t>(event_class.default_severity)},
                            {"_timestamp", nowNanoseconds()}}};

    // The object changes and its event is queued under one lock, so a console that reads the
    // new value from a query finds the event already queued.
    std::function<void()> wake;
    bool overflow_started = false;
    {
        std::lock_guard lock(mutex);
        ObjectRecord& record = ensureAdaptorLocked(job);
        if (update) {
            update(record);
            record.update_ts = nowNanoseconds();
        }
        events.push_back(std::move(message));
        while (events.size() > options.event_buffer_limit && !events.empty()) {
            events.pop_front();
            overflow_started = overflow_started || dropped_events == 0;
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
    const schema::Class* event_class = schema::findClass(schema::kPackage, schema::kStatusEvent);
    std::string new_name(jobStatusName(new_status));
    state_->queueEvent(
        *event_class, job,
        Map{{std::string(schema::kEvent), std::string(schema::kEventStatus)},
            {std::string(schema::kNewStatus), new_name},
            {std::string(schema::kOldStatus), std::string(jobStatusName(old_status))}},
        [&](ObjectRecord& record) {
            record.values[std::string(schema::kStatus)] = new_name;
            record.ended = isTerminal(new_status);
        });
}

void Agent::onPercentChanged(const JobSnapshot& job, int percent_complete) {
    const schema::Class* event_class = schema::findClass(schema::kPackage, schema::kPercentEvent);
    state_->queueEvent(*event_class, job,
                       Map{{std::string(schema::kEvent), std::string(schema::kEventPercentage)},
                           {std::string(schema::kPercentComplete), int64_t{percent_complete}}},
                       [&](ObjectRecord& record) {
                           record.values[std::string(schema::kPercentComplete)] =
                               int64_t{percent_complete};
                       });
}

void Agent::onFailed(const JobSnapshot& job, const std::string& type, const std::string& info) {
    const schema::Class* event_class = schema::findClass(schema::kPackage, schema::kFailedEvent);
    state_->queueEvent(*event_class, job,
                       Map{{std::string(schema::kEvent), std::string(schema::kEventFailure)},
                           {std::string(schema::kType), type},
                           {std::string(schema::kInfo), info}},
                       nullptr);
}

}  // namespace imagefactory::qmf
