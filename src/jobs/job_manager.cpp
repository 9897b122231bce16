#include "jobs/job_manager.hpp"

#include <algorithm>
#include <atomic>
#include <thread>

#include "core/logging.hpp"
#include "store/image_store.hpp"

namespace imagefactory {

namespace {

constexpr const char* kAbortedType = "Aborted";

}  // namespace

struct JobManager::Job {
    JobSnapshot snapshot;  // guarded by JobManager::mutex_
    JobWork work;
    CancelToken cancel;
    bool started = false;
    bool waiting = false;  // in its lane's queue, with no thread
    bool ended = false;    // terminal, and every observer was notified; waitFor() waits for this
    std::atomic<bool> timed_out{false};
    // Serializes store writes of this job, so that the state read last is the state written
    // last even when an abort and the job's own thread both write.
    std::mutex persist_mutex;
    std::chrono::steady_clock::time_point persisted_at;  // guarded by persist_mutex
};

namespace {

// Cancels a job's token when its time is up, unless disarmed first.
class Deadline {
  public:
    Deadline(std::chrono::seconds limit, std::function<void()> on_expiry) {
        if (limit.count() <= 0) {
            return;
        }
        thread_ = std::thread([this, limit, on_expiry = std::move(on_expiry)] {
            std::unique_lock lock(mutex_);
            if (!disarmed_.wait_for(lock, limit, [this] { return done_; })) {
                on_expiry();
            }
        });
    }
    ~Deadline() {
        {
            std::lock_guard lock(mutex_);
            done_ = true;
        }
        disarmed_.notify_all();
        if (thread_.joinable()) {
            thread_.join();
        }
    }

  private:
    std::mutex mutex_;
    std::condition_variable disarmed_;
    bool done_ = false;
    std::thread thread_;
};

}  // namespace

// The JobContext handed to a job's work.
class JobRunContext : public JobContext {
  public:
    JobRunContext(std::string job_id, CancelToken& token, std::shared_ptr<spdlog::logger> logger,
                  std::filesystem::path work_dir, std::function<void(int)> set_percent)
        : job_id_(std::move(job_id)),
          token_(token),
          logger_(std::move(logger)),
          work_dir_(std::move(work_dir)),
          set_percent_(std::move(set_percent)) {}

    const std::string& jobId() const override { return job_id_; }
    void setPercent(int percent) override { set_percent_(percent); }
    CancelToken& cancelToken() override { return token_; }
    std::shared_ptr<spdlog::logger> logger() override { return logger_; }
    const std::filesystem::path& workDir() const override { return work_dir_; }

  private:
    std::string job_id_;
    CancelToken& token_;
    std::shared_ptr<spdlog::logger> logger_;
    std::filesystem::path work_dir_;
    std::function<void(int)> set_percent_;
};

JobManager::JobManager(ImageStore& store, JobManagerOptions options)
    : store_(store), options_(options) {
    build_lane_.free = std::max(1, options.max_concurrent_builds);
    push_lane_.free = std::max(1, options.max_concurrent_pushes);
}

JobManager::Lane& JobManager::laneOf(const Job& job) {
    return job.snapshot.kind == JobKind::Build ? build_lane_ : push_lane_;
}

JobManager::~JobManager() {
    abortAll();
}

void JobManager::addObserver(std::shared_ptr<JobObserver> observer) {
    std::lock_guard lock(mutex_);
    observers_.push_back(std::move(observer));
}

std::vector<std::shared_ptr<JobObserver>> JobManager::observers() const {
    std::lock_guard lock(mutex_);
    return observers_;
}

void JobManager::create(const JobSnapshot& snapshot, JobWork work) {
    auto job = std::make_shared<Job>();
    job->snapshot = snapshot;
    job->snapshot.status = JobStatus::New;
    job->snapshot.percent_complete = 0;
    job->work = std::move(work);
    {
        std::lock_guard lock(mutex_);
        jobs_[snapshot.id] = job;
    }
    for (auto& observer : observers()) {
        observer->onJobCreated(job->snapshot);
    }
}

std::shared_ptr<JobManager::Job> JobManager::find(const std::string& job_id) const {
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(job_id);
    return it == jobs_.end() ? nullptr : it->second;
}

void JobManager::start(const std::string& job_id) {
    auto job = find(job_id);
    if (!job) {
        return;
    }
    {
        std::lock_guard lock(mutex_);
        if (job->started) {
            return;
        }
        job->started = true;
        ++running_threads_;
    }
    try {
        std::thread([this, job] { queueAndRun(job); }).detach();
    } catch (const std::system_error& e) {
        // Out of threads or memory: the job fails here instead of taking the process down.
        {
            std::lock_guard lock(mutex_);
            --running_threads_;
        }
        componentLogger("job")->error("cannot start a thread for job={}: {}", job_id, e.what());
        reportFailure(*job, "Internal", std::string("cannot start the job: ") + e.what());
        changeStatus(*job, JobEvent::Fail);
        std::lock_guard lock(mutex_);
        changed_.notify_all();
    }
}

void JobManager::queueAndRun(std::shared_ptr<Job> job) {
    changeStatus(*job, JobEvent::Queue);
    bool has_slot = false;
    {
        std::lock_guard lock(mutex_);
        Lane& lane = laneOf(*job);
        if (!job->cancel.cancelled()) {
            if (lane.free == 0) {
                // This thread ends here; a job of this kind that finishes takes this one out of
                // line, or abort() removes it from the queue and fails it.
                job->waiting = true;
                lane.waiting.push_back(job);
                --running_threads_;
                changed_.notify_all();
                return;
            }
            --lane.free;
            has_slot = true;
        }
    }
    if (!has_slot) {
        runJob(job, false);  // aborted before it got in line
    }
    while (has_slot && job) {
        runJob(job, true);
        std::lock_guard lock(mutex_);
        Lane& lane = laneOf(*job);
        job.reset();
        if (!lane.waiting.empty()) {
            job = lane.waiting.front();
            lane.waiting.pop_front();
            job->waiting = false;
        } else {
            ++lane.free;
        }
    }
    std::lock_guard lock(mutex_);
    --running_threads_;
    changed_.notify_all();
}

void JobManager::failUnstarted(const std::string& job_id, const std::string& type,
                               const std::string& info) {
    auto job = find(job_id);
    if (!job) {
        return;
    }
    {
        std::lock_guard lock(mutex_);
        if (job->started) {
            return;
        }
        job->started = true;
    }
    reportFailure(*job, type, info);
    changeStatus(*job, JobEvent::Fail);
}

void JobManager::persist(Job& job) {
    std::lock_guard persisting(job.persist_mutex);
    job.persisted_at = std::chrono::steady_clock::now();
    JobState state;
    {
        std::lock_guard lock(mutex_);
        state.status = job.snapshot.status;
        state.percent_complete = job.snapshot.percent_complete;
        state.failure_type = job.snapshot.failure_type;
        state.failure_info = job.snapshot.failure_info;
    }
    RecordKind kind =
        job.snapshot.kind == JobKind::Build ? RecordKind::TargetImage : RecordKind::ProviderImage;
    Status saved = store_.updateJobState(kind, job.snapshot.id, state);
    if (!saved.ok()) {
        componentLogger("job")->error("cannot record job state job={} status={}: {}",
                                      job.snapshot.id, jobStatusName(state.status),
                                      saved.error().message);
    }
}

void JobManager::changeStatus(Job& job, JobEvent event) {
    JobSnapshot view;
    JobStatus old_status;
    {
        std::lock_guard lock(mutex_);
        old_status = job.snapshot.status;
        std::optional<JobStatus> next = nextStatus(job.snapshot.kind, old_status, event);
        if (!next) {
            // A bug in this file, not bad input: every path below follows the table.
            componentLogger("job")->error("transition not allowed job={} status={} event={}",
                                          job.snapshot.id, jobStatusName(old_status),
                                          jobEventName(event));
            return;
        }
        job.snapshot.status = *next;
        view = job.snapshot;
    }
    persist(job);
    componentLogger("job")->info("status changed job={} {} -> {}", view.id,
                                 jobStatusName(old_status), jobStatusName(view.status));
    for (auto& observer : observers()) {
        observer->onStatusChanged(view, old_status, view.status);
    }
    if (isTerminal(view.status)) {
        std::lock_guard lock(mutex_);
        job.ended = true;
        changed_.notify_all();
    }
}

void JobManager::setPercent(Job& job, int percent) {
    JobSnapshot view;
    {
        std::lock_guard lock(mutex_);
        if (percent > 100) {
            percent = 100;
        }
        if (percent <= job.snapshot.percent_complete || isTerminal(job.snapshot.status)) {
            return;
        }
        job.snapshot.percent_complete = percent;
        view = job.snapshot;
    }
    for (auto& observer : observers()) {
        observer->onPercentChanged(view, percent);
    }
    // Each store write waits for a disk sync, so progress is written at most every few
    // seconds; status changes write it too. Short jobs never pay for it.
    bool due;
    {
        std::lock_guard persisting(job.persist_mutex);
        due = std::chrono::steady_clock::now() - job.persisted_at >=
              options_.percent_persist_interval;
    }
    if (due) {
        persist(job);
    }
}

void JobManager::reportFailure(Job& job, const std::string& type, const std::string& info) {
    JobSnapshot view;
    {
        std::lock_guard lock(mutex_);
        job.snapshot.failure_type = type;
        job.snapshot.failure_info = info;
        view = job.snapshot;
    }
    componentLogger("job")->error("job failed job={} type={}: {}", view.id, type, info);
    for (auto& observer : observers()) {
        observer->onFailed(view, type, info);
    }
}

void JobManager::runJob(const std::shared_ptr<Job>& job, bool has_slot) {
    const JobSnapshot& initial = job->snapshot;
    std::string folder = initial.kind == JobKind::Build ? "target_images" : "provider_images";
    std::filesystem::path log_file = store_.dataDir() / folder / initial.id / "job.log";
    std::filesystem::path work_dir = store_.tmpDir() / ("job-" + initial.id);
    std::string prefix = folder.substr(0, folder.size() - 1) + "=" + initial.id +
                         " image=" + initial.image_id + " build=" + initial.build_id;

    // The job's log file is opened only once it has a slot, so that waiting jobs keep no file
    // descriptor open. When it cannot be opened, the job still runs and logs to the daemon log.
    std::shared_ptr<spdlog::logger> logger;
    try {
        logger = jobLogger(prefix, log_file);
    } catch (const std::exception& e) {
        componentLogger("job")->error("cannot open job log {}: {} job={}", log_file.string(),
                                      e.what(), initial.id);
        logger = componentLogger("job");
    }
    JobRunContext context(initial.id, job->cancel, logger, work_dir,
                          [this, job](int percent) { setPercent(*job, percent); });

    // Any exception from a plug-in ends here, at the top of the job thread.
    Status outcome = okStatus();
    std::string failure_type = job->work.failure_type;
    if (!has_slot) {
        outcome = Error{ErrorCode::Aborted, "aborted while waiting for a free slot"};
    } else {
        changeStatus(*job, JobEvent::Start);
        Deadline deadline(options_.job_timeout, [job] {
            job->timed_out = true;
            job->cancel.cancel();
        });
        std::error_code ec;
        std::filesystem::create_directories(work_dir, ec);
        if (ec) {
            outcome = internalError("cannot create work directory " + work_dir.string() + ": " +
                                    ec.message());
        }
        try {
            if (outcome.ok()) {
                outcome = job->work.run(context);
            }
            if (outcome.ok() && job->cancel.cancelled()) {
                outcome = Error{ErrorCode::Aborted, "aborted"};
            }
            if (outcome.ok()) {
                changeStatus(*job, JobEvent::WorkDone);
                outcome = job->work.finish(context);
            }
        } catch (const std::exception& e) {
            outcome = internalError(std::string("unexpected error: ") + e.what());
        }
        std::filesystem::remove_all(work_dir, ec);
        if (ec) {
            logger->warn("cannot remove work directory {}: {}", work_dir.string(), ec.message());
        }
    }

    if (outcome.ok()) {
        setPercent(*job, 100);
        changeStatus(*job, JobEvent::Recorded);
    } else {
        bool aborted = outcome.error().code == ErrorCode::Aborted || job->cancel.cancelled();
        if (job->timed_out) {
            reportFailure(*job, "Timeout",
                          "stopped after the time limit of " +
                              std::to_string(options_.job_timeout.count()) + " s");
            changeStatus(*job, JobEvent::Fail);
        } else {
            reportFailure(*job, aborted ? kAbortedType : failure_type, outcome.error().message);
            changeStatus(*job, aborted ? JobEvent::Abort : JobEvent::Fail);
        }
    }
    logger->flush();
    // An ended job stays queryable, but what its work captured (template text, requests) is
    // not needed any more.
    job->work = JobWork{};
}

Status JobManager::abort(const std::string& job_id) {
    auto job = find(job_id);
    if (!job) {
        return notFound("no job with id " + job_id);
    }
    bool was_waiting = false;
    {
        std::lock_guard lock(mutex_);
        if (isTerminal(job->snapshot.status)) {
            return invalidState("job " + job_id + " has already ended with status " +
                                std::string(jobStatusName(job->snapshot.status)));
        }
        job->cancel.cancel();
        if (job->waiting) {
            auto& waiting = laneOf(*job).waiting;
            waiting.erase(std::find(waiting.begin(), waiting.end(), job));
            job->waiting = false;
            was_waiting = true;
            ++running_threads_;
        }
    }
    componentLogger("job")->info("abort requested job={}", job_id);
    if (was_waiting) {
        // A thread of its own records the failure, so the caller does not wait for the store.
        auto fail_waiting = [this, job] {
            runJob(job, false);
            std::lock_guard lock(mutex_);
            --running_threads_;
            changed_.notify_all();
        };
        try {
            std::thread(fail_waiting).detach();
        } catch (const std::system_error&) {
            fail_waiting();  // out of threads: record it on the caller's thread instead
        }
    }
    return okStatus();
}

void JobManager::abortAll() {
    std::vector<std::shared_ptr<Job>> jobs;
    {
        std::lock_guard lock(mutex_);
        for (auto& [id, job] : jobs_) {
            if (!isTerminal(job->snapshot.status)) {
                jobs.push_back(job);
            }
        }
    }
    for (auto& job : jobs) {
        // A job that ended meanwhile gives InvalidState, which is fine here.
        (void)abort(job->snapshot.id);
    }
    waitIdle();
}

void JobManager::waitIdle() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return running_threads_ == 0; });
}

std::optional<JobSnapshot> JobManager::snapshot(const std::string& job_id) const {
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(job_id);
    if (it == jobs_.end()) {
        return std::nullopt;
    }
    return it->second->snapshot;
}

std::vector<JobSnapshot> JobManager::snapshots() const {
    std::lock_guard lock(mutex_);
    std::vector<JobSnapshot> all;
    for (const auto& [id, job] : jobs_) {
        all.push_back(job->snapshot);
    }
    return all;
}

std::optional<JobSnapshot> JobManager::waitFor(const std::string& job_id) const {
    std::unique_lock lock(mutex_);
    auto it = jobs_.find(job_id);
    if (it == jobs_.end()) {
        return std::nullopt;
    }
    auto job = it->second;
    changed_.wait(lock, [&] { return job->ended; });
    return job->snapshot;
}

}  // namespace imagefactory
