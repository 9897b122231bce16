#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imagefactory {

// The kind of job: a build makes a target image, a push makes a provider image.
enum class JobKind { Build, Push };

// Job statuses, spelled on the wire as the original Image Factory spelled them. A BuildAdaptor
// starts at NEW (the original showed "New" on the property but "NEW" in events; this product
// uses NEW in both places).
enum class JobStatus { New, Pending, Building, Pushing, Finishing, Completed, Failed };

// An event in a job's life. Each event moves the job to one status; whether that move is allowed
// from the current status is decided by the transition table alone.
enum class JobEvent {
    Queue,     // the method call accepted the job; it waits for a slot
    Start,     // a slot is free; the job starts building or pushing
    WorkDone,  // the image exists; it is being verified and recorded
    Recorded,  // the result is durable
    Fail,      // the work failed
    Abort,     // someone asked the job to stop
};

std::string_view jobStatusName(JobStatus status);
std::optional<JobStatus> parseJobStatus(std::string_view name);
std::string_view jobEventName(JobEvent event);
std::string_view jobKindName(JobKind kind);
bool isTerminal(JobStatus status);

// The status that event leads to from status for a job of this kind, or nullopt when the
// transition table does not allow it.
std::optional<JobStatus> nextStatus(JobKind kind, JobStatus status, JobEvent event);

// One row of the state machine as instance_states publishes it. trigger is either the list of
// QMF methods whose call makes the move, or empty for a move the agent makes on its own.
struct JobTransition {
    JobStatus from;
    JobStatus to;
    std::vector<std::string> trigger_methods;
};

const std::vector<JobTransition>& jobTransitions();

// The state machine as the text of a Python dict, the format of the original's
// instance_states("BuildAdaptor"): {'STATE': ({'NEXT': ('method', ...)}, {'NEXT': '_auto_'}),
// 'TERMINAL': ()}. Generated from jobTransitions(), so it always matches the code.
std::string describeJobStateMachine();

}  // namespace imagefactory
