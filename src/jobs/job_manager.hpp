#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "build/job_context.hpp"
#include "core/error.hpp"
#include "jobs/job_observer.hpp"

namespace imagefactory {

class ImageStore;

// The work of one job, run on the job's thread once it has a slot. run returns an error when
// the work failed. finish runs after the status is FINISHING and makes the result durable, or
// fails the job.
struct JobWork {
    std::function<Status(JobContext&)> run;
    std::function<Status(JobContext&)> finish;
    std::string failure_type;  // reported when run or finish fails (e.g. "Mock")
};

struct JobManagerOptions {
    int max_concurrent_builds = 2;
    int max_concurrent_pushes = 2;
    // How long a job may run once it has a slot (0 means no limit). A job past it is stopped
    // like an aborted one and fails with type "Timeout".
    std::chrono::seconds job_timeout{0};
    // Progress of a running job is written to the store at most this often (status changes
    // write it as well), so that a reader of the store can follow a long job.
    std::chrono::milliseconds percent_persist_interval{5000};
};

// Runs jobs, one thread each, with a limit on concurrent builds and pushes. Every status change
// is persisted to the store (updateJobState, with the percent reached) before observers hear of
// it, and observers hear of one job's changes in order. Jobs waiting for a slot are PENDING.
class JobManager {
  public:
    JobManager(ImageStore& store, JobManagerOptions options);
    ~JobManager();

    void addObserver(std::shared_ptr<JobObserver> observer);

    // Registers a job in status NEW and notifies observers (onJobCreated) before returning. The job
    // does not run until start() is called, so callers can register a whole request first.
    void create(const JobSnapshot& job, JobWork work);

    // Starts a created job: NEW -> PENDING at once, then BUILDING or PUSHING when a slot is free.
    void start(const std::string& job_id);

    // Fails a created job that will not be started (NEW -> FAILED).
    void failUnstarted(const std::string& job_id, const std::string& type, const std::string& info);

    // Aborts a running or waiting job; it ends FAILED with failure type "Aborted" within about
    // a second. A job that has ended gives an InvalidState error; an unknown id NotFound.
    Status abort(const std::string& job_id);

    // Aborts every job that has not ended and waits until all job threads have finished.
    void abortAll();

    // Waits until no job thread runs.
    void waitIdle();

    std::optional<JobSnapshot> snapshot(const std::string& job_id) const;
    std::vector<JobSnapshot> snapshots() const;
    // Waits until the job has ended and every observer has heard of its last change.
    std::optional<JobSnapshot> waitFor(const std::string& job_id) const;

  private:
    struct Job;

    // Jobs of one kind (builds or pushes): how many more may run, and who waits, in order.
    struct Lane {
        int free = 0;
        std::deque<std::shared_ptr<Job>> waiting;
    };

    Lane& laneOf(const Job& job);
    // The body of a job thread: queues the job, then runs it and, while jobs of its kind wait,
    // runs them one after another on this thread with the same slot.
    void queueAndRun(std::shared_ptr<Job> job);
    // Runs a job to its end. Without a slot it only records the abort that took it out of line.
    void runJob(const std::shared_ptr<Job>& job, bool has_slot);
    void changeStatus(Job& job, JobEvent event);
    void reportFailure(Job& job, const std::string& type, const std::string& info);
    void setPercent(Job& job, int percent);
    void persist(Job& job);
    std::shared_ptr<Job> find(const std::string& job_id) const;
    std::vector<std::shared_ptr<JobObserver>> observers() const;

    ImageStore& store_;
    JobManagerOptions options_;
    mutable std::mutex mutex_;
    Lane build_lane_;  // guarded by mutex_
    Lane push_lane_;   // guarded by mutex_
    mutable std::condition_variable changed_;
    std::map<std::string, std::shared_ptr<Job>> jobs_;
    std::vector<std::shared_ptr<JobObserver>> observers_;
    int running_threads_ = 0;
};

}  // namespace imagefactory
