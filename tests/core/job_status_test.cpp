#include "core/job_status.hpp"

#include <gtest/gtest.h>

#include <map>
#include <tuple>

namespace imagefactory {
namespace {

constexpr JobStatus kStatuses[] = {JobStatus::New,     JobStatus::Pending,   JobStatus::Building,
                                   JobStatus::Pushing, JobStatus::Finishing, JobStatus::Completed,
                                   JobStatus::Failed};
constexpr JobEvent kEvents[] = {JobEvent::Queue,    JobEvent::Start, JobEvent::WorkDone,
                                JobEvent::Recorded, JobEvent::Fail,  JobEvent::Abort};
constexpr JobKind kKinds[] = {JobKind::Build, JobKind::Push};

using Key = std::tuple<JobKind, JobStatus, JobEvent>;

// Written out by hand, independently of the table in job_status.cpp: every allowed move.
std::map<Key, JobStatus> expectedMoves() {
    std::map<Key, JobStatus> moves;
    for (JobKind kind : kKinds) {
        JobStatus working = kind == JobKind::Build ? JobStatus::Building : JobStatus::Pushing;
        moves[{kind, JobStatus::New, JobEvent::Queue}] = JobStatus::Pending;
        moves[{kind, JobStatus::New, JobEvent::Fail}] = JobStatus::Failed;
        moves[{kind, JobStatus::New, JobEvent::Abort}] = JobStatus::Failed;
        moves[{kind, JobStatus::Pending, JobEvent::Start}] = working;
        moves[{kind, JobStatus::Pending, JobEvent::Fail}] = JobStatus::Failed;
        moves[{kind, JobStatus::Pending, JobEvent::Abort}] = JobStatus::Failed;
        moves[{kind, working, JobEvent::WorkDone}] = JobStatus::Finishing;
        moves[{kind, working, JobEvent::Fail}] = JobStatus::Failed;
        moves[{kind, working, JobEvent::Abort}] = JobStatus::Failed;
        moves[{kind, JobStatus::Finishing, JobEvent::Recorded}] = JobStatus::Completed;
        moves[{kind, JobStatus::Finishing, JobEvent::Fail}] = JobStatus::Failed;
        moves[{kind, JobStatus::Finishing, JobEvent::Abort}] = JobStatus::Failed;
    }
    return moves;
}

TEST(JobStatusTest, EveryStatusEventPairFollowsTheTable) {
    auto expected = expectedMoves();
    for (JobKind kind : kKinds) {
        for (JobStatus status : kStatuses) {
            for (JobEvent event : kEvents) {
                auto it = expected.find({kind, status, event});
                std::optional<JobStatus> want;
                if (it != expected.end()) {
                    want = it->second;
                }
                EXPECT_EQ(nextStatus(kind, status, event), want)
                    << jobKindName(kind) << " job in " << jobStatusName(status) << " on "
                    << jobEventName(event);
            }
        }
    }
}

TEST(JobStatusTest, TerminalStatusesAcceptNoEvent) {
    for (JobKind kind : kKinds) {
        for (JobEvent event : kEvents) {
            EXPECT_FALSE(nextStatus(kind, JobStatus::Completed, event).has_value());
            EXPECT_FALSE(nextStatus(kind, JobStatus::Failed, event).has_value());
        }
    }
}

TEST(JobStatusTest, PublishedMachineListsEveryAllowedMove) {
    // Every move nextStatus() allows appears as a row of the published table, so that
    // instance_states describes exactly what jobs do.
    for (const auto& [key, to] : expectedMoves()) {
        JobStatus from = std::get<1>(key);
        bool listed = false;
        for (const JobTransition& row : jobTransitions()) {
            listed = listed || (row.from == from && row.to == to);
        }
        EXPECT_TRUE(listed) << jobStatusName(from) << " -> " << jobStatusName(to);
    }
}

TEST(JobStatusTest, NamesRoundTrip) {
    for (JobStatus status : kStatuses) {
        EXPECT_EQ(parseJobStatus(jobStatusName(status)), status);
    }
    EXPECT_FALSE(parseJobStatus("New").has_value());
}

TEST(JobStatusTest, DescribesStateMachineAsPythonDict) {
    EXPECT_EQ(describeJobStateMachine(),
              "{'NEW': ({'PENDING': ('build_image', 'push_image')}, {'FAILED': ('build_image', "
              "'push_image')}), 'PENDING': ({'BUILDING': '_auto_'}, {'PUSHING': '_auto_'}, "
              "{'FAILED': '_auto_'}), 'BUILDING': ({'FINISHING': '_auto_'}, {'FAILED': "
              "'_auto_'}), 'PUSHING': ({'FINISHING': '_auto_'}, {'FAILED': '_auto_'}), "
              "'FINISHING': ({'COMPLETED': '_auto_'}, {'FAILED': '_auto_'}), 'COMPLETED': (), "
              "'FAILED': ()}");
}

}  // namespace
}  // namespace imagefactory
