#include "core/job_status.hpp"

#include <array>

namespace imagefactory {

namespace {

constexpr std::array<JobStatus, 7> kAllStatuses = {
    JobStatus::New,       JobStatus::Pending,   JobStatus::Building, JobStatus::Pushing,
    JobStatus::Finishing, JobStatus::Completed, JobStatus::Failed,
};

// The status an event aims at; the table below says from where it may be reached.
JobStatus targetOf(JobKind kind, JobEvent event) {
    switch (event) {
        case JobEvent::Queue:
            return JobStatus::Pending;
        case JobEvent::Start:
            return kind == JobKind::Build ? JobStatus::Building : JobStatus::Pushing;
        case JobEvent::WorkDone:
            return JobStatus::Finishing;
        case JobEvent::Recorded:
            return JobStatus::Completed;
        case JobEvent::Fail:
        case JobEvent::Abort:
            return JobStatus::Failed;
    }
    return JobStatus::Failed;
}

// BUILDING is only for build jobs and PUSHING only for push jobs.
bool statusFitsKind(JobKind kind, JobStatus status) {
    if (status == JobStatus::Building) {
        return kind == JobKind::Build;
    }
    if (status == JobStatus::Pushing) {
        return kind == JobKind::Push;
    }
    return true;
}

}  // namespace

std::string_view jobStatusName(JobStatus status) {
    switch (status) {
        case JobStatus::New:
            return "NEW";
        case JobStatus::Pending:
            return "PENDING";
        case JobStatus::Building:
            return "BUILDING";
        case JobStatus::Pushing:
            return "PUSHING";
        case JobStatus::Finishing:
            return "FINISHING";
        case JobStatus::Completed:
            return "COMPLETED";
        case JobStatus::Failed:
            return "FAILED";
    }
    return "FAILED";
}

std::optional<JobStatus> parseJobStatus(std::string_view name) {
    for (JobStatus status : kAllStatuses) {
        if (jobStatusName(status) == name) {
            return status;
        }
    }
    return std::nullopt;
}

std::string_view jobEventName(JobEvent event) {
    switch (event) {
        case JobEvent::Queue:
            return "queue";
        case JobEvent::Start:
            return "start";
        case JobEvent::WorkDone:
            return "work-done";
        case JobEvent::Recorded:
            return "recorded";
        case JobEvent::Fail:
            return "fail";
        case JobEvent::Abort:
            return "abort";
    }
    return "fail";
}

std::string_view jobKindName(JobKind kind) {
    return kind == JobKind::Build ? "build" : "push";
}

bool isTerminal(JobStatus status) {
    return status == JobStatus::Completed || status == JobStatus::Failed;
}

const std::vector<JobTransition>& jobTransitions() {
    static const std::vector<JobTransition> table = {
        {JobStatus::New, JobStatus::Pending, {"build_image", "push_image"}},
        {JobStatus::New, JobStatus::Failed, {"build_image", "push_image"}},
        {JobStatus::Pending, JobStatus::Building, {}},
        {JobStatus::Pending, JobStatus::Pushing, {}},
        {JobStatus::Pending, JobStatus::Failed, {}},
        {JobStatus::Building, JobStatus::Finishing, {}},
        {JobStatus::Building, JobStatus::Failed, {}},
        {JobStatus::Pushing, JobStatus::Finishing, {}},
        {JobStatus::Pushing, JobStatus::Failed, {}},
        {JobStatus::Finishing, JobStatus::Completed, {}},
        {JobStatus::Finishing, JobStatus::Failed, {}},
    };
    return table;
}

std::optional<JobStatus> nextStatus(JobKind kind, JobStatus status, JobEvent event) {
    if (!statusFitsKind(kind, status)) {
        return std::nullopt;
    }
    JobStatus target = targetOf(kind, event);
    for (const JobTransition& row : jobTransitions()) {
        if (row.from == status && row.to == target) {
            return target;
        }
    }
    return std::nullopt;
}

std::string describeJobStateMachine() {
    std::string text = "{";
    bool first_state = true;
    for (JobStatus state : kAllStatuses) {
        if (!first_state) {
            text += ", ";
        }
        first_state = false;
        text += "'";
        text += jobStatusName(state);
        text += "': (";

        int moves = 0;
        for (const JobTransition& row : jobTransitions()) {
            if (row.from != state) {
                continue;
            }
            if (moves++ > 0) {
                text += ", ";
            }
            text += "{'";
            text += jobStatusName(row.to);
            text += "': ";
            if (row.trigger_methods.empty()) {
                text += "'_auto_'";
            } else {
                text += "(";
                for (size_t i = 0; i < row.trigger_methods.size(); ++i) {
                    text += (i > 0 ? ", '" : "'") + row.trigger_methods[i] + "'";
                }
                // A one-element Python tuple needs its trailing comma.
                text += row.trigger_methods.size() == 1 ? ",)" : ")";
            }
            text += "}";
        }
        // Same rule for the tuple of moves: one move is written ({...},).
        text += moves == 1 ? ",)" : ")";
    }
    text += "}";
    return text;
}

}  // namespace imagefactory
