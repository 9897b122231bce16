#include "jobs/job_manager.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "build/mock_target.hpp"
#include "core/uuid.hpp"
#include "jobs/recording_observer.hpp"
#include "store/image_store.hpp"

namespace imagefactory {
namespace {

using namespace std::chrono_literals;

class JobManagerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("jobs-test-" + newUuid());
        auto store = openSqliteImageStore(dir_);
        ASSERT_TRUE(store.ok()) << store.error().message;
        store_ = std::move(*store);
        image_ = {newUuid(), "test", "<image/>", "", "", "", 1, 1};
        build_ = {newUuid(), image_.id, "", 1, 1};
        StoreBatch batch;
        batch.images.push_back(image_);
        batch.builds.push_back(build_);
        ASSERT_TRUE(store_->commit(batch).ok());
    }

    void TearDown() override {
        manager_.reset();
        store_.reset();
        std::filesystem::remove_all(dir_);
    }

    JobManager& manager(int builds = 2) {
        if (!manager_) {
            manager_ = std::make_unique<JobManager>(*store_, JobManagerOptions{builds, 2});
            manager_->addObserver(observer_);
        }
        return *manager_;
    }

    // A build job with a stored target image, whose work runs fn.
    std::string addJob(std::function<Status(JobContext&)> fn) {
        TargetImageRecord record;
        record.id = newUuid();
        record.build_id = build_.id;
        record.target = "test";
        record.parameters = "{}";
        StoreBatch batch;
        batch.target_images.push_back(record);
        EXPECT_TRUE(store_->commit(batch).ok());

        JobSnapshot job;
        job.id = record.id;
        job.method = "build_image";
        job.kind = JobKind::Build;
        job.image_id = image_.id;
        job.build_id = build_.id;
        job.target = "test";
        JobWork work;
        work.run = std::move(fn);
        work.finish = [](JobContext&) { return okStatus(); };
        work.failure_type = "Test";
        manager().create(job, std::move(work));
        return job.id;
    }

    std::filesystem::path dir_;
    std::unique_ptr<ImageStore> store_;
    std::unique_ptr<JobManager> manager_;
    std::shared_ptr<RecordingObserver> observer_ = std::make_shared<RecordingObserver>();
    ImageRecord image_;
    BuildRecord build_;
};

TEST_F(JobManagerTest, ReportsEveryChangeInOrder) {
    std::string id = addJob([](JobContext& context) {
        context.setPercent(10);
        context.setPercent(10);  // no change: not reported
        context.setPercent(5);   // going back: ignored
        context.setPercent(60);
        return okStatus();
    });
    manager().start(id);
    auto final_view = manager().waitFor(id);
    manager().waitIdle();

    ASSERT_TRUE(final_view.has_value());
    EXPECT_EQ(final_view->status, JobStatus::Completed);
    std::vector<std::string> expected = {
        "created NEW",
        "status NEW->PENDING",
        "status PENDING->BUILDING",
        "percent 10",
        "percent 60",
        "status BUILDING->FINISHING",
        "percent 100",
        "status FINISHING->COMPLETED",
    };
    EXPECT_EQ(observer_->events(id), expected);
}

TEST_F(JobManagerTest, PersistsFinalState) {
    std::string id = addJob([](JobContext&) { return toolFailure("disk full"); });
    manager().start(id);
    manager().waitFor(id);
    manager().waitIdle();

    auto record = store_->getTargetImage(id);
    ASSERT_TRUE(record.ok());
    EXPECT_EQ(record->job.status, JobStatus::Failed);
    EXPECT_EQ(record->job.failure_type, "Test");
    EXPECT_EQ(record->job.failure_info, "disk full");
}

TEST_F(JobManagerTest, ReportsFailureBeforeFailedStatus) {
    std::string id = addJob([](JobContext&) { return toolFailure("broken"); });
    manager().start(id);
    manager().waitFor(id);
    manager().waitIdle();

    std::vector<std::string> expected = {
        "created NEW",         "status NEW->PENDING",     "status PENDING->BUILDING",
        "failed Test: broken", "status BUILDING->FAILED",
    };
    EXPECT_EQ(observer_->events(id), expected);
}

TEST_F(JobManagerTest, AbortStopsRunningJobWithinASecond) {
    std::atomic<bool> running{false};
    std::string id = addJob([&](JobContext& context) {
        running = true;
        sleepUnlessCancelled(context.cancelToken(), 60s);
        return okStatus();
    });
    manager().start(id);
    while (!running) {
        std::this_thread::sleep_for(5ms);
    }

    auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(manager().abort(id).ok());
    auto final_view = manager().waitFor(id);
    auto took = std::chrono::steady_clock::now() - started;

    ASSERT_TRUE(final_view.has_value());
    EXPECT_EQ(final_view->status, JobStatus::Failed);
    EXPECT_EQ(final_view->failure_type, "Aborted");
    EXPECT_LT(took, 1s);
}

TEST_F(JobManagerTest, AbortRemovesWorkDirectory) {
    std::atomic<bool> running{false};
    std::filesystem::path work_dir;
    std::string id = addJob([&](JobContext& context) {
        work_dir = context.workDir();
        std::ofstream(context.workDir() / "partial.img") << "half";
        running = true;
        sleepUnlessCancelled(context.cancelToken(), 60s);
        return okStatus();
    });
    manager().start(id);
    while (!running) {
        std::this_thread::sleep_for(5ms);
    }
    ASSERT_TRUE(manager().abort(id).ok());
    manager().waitFor(id);
    manager().waitIdle();

    EXPECT_FALSE(std::filesystem::exists(work_dir));
}

TEST_F(JobManagerTest, RejectsAbortAfterCompletion) {
    std::string id = addJob([](JobContext&) { return okStatus(); });
    manager().start(id);
    manager().waitFor(id);

    Status aborted = manager().abort(id);
    ASSERT_FALSE(aborted.ok());
    EXPECT_EQ(aborted.error().code, ErrorCode::InvalidState);
    EXPECT_NE(aborted.error().message.find("COMPLETED"), std::string::npos);
}

TEST_F(JobManagerTest, RejectsAbortOfUnknownJob) {
    Status aborted = manager().abort("no-such-job");
    ASSERT_FALSE(aborted.ok());
    EXPECT_EQ(aborted.error().code, ErrorCode::NotFound);
}

TEST_F(JobManagerTest, LimitsConcurrentBuilds) {
    std::atomic<int> running{0};
    std::atomic<int> peak{0};
    manager(2);
    auto work = [&](JobContext&) {
        int now = ++running;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(50ms);
        --running;
        return okStatus();
    };
    std::vector<std::string> ids;
    for (int i = 0; i < 6; ++i) {
        ids.push_back(addJob(work));
    }
    for (const auto& id : ids) {
        manager().start(id);
    }
    manager().waitIdle();

    EXPECT_EQ(peak.load(), 2);
    for (const auto& id : ids) {
        EXPECT_EQ(manager().snapshot(id)->status, JobStatus::Completed);
    }
}

TEST_F(JobManagerTest, WaitingJobIsPendingAndCanBeAborted) {
    manager(1);
    std::atomic<bool> first_running{false};
    std::string first = addJob([&](JobContext& context) {
        first_running = true;
        sleepUnlessCancelled(context.cancelToken(), 60s);
        return okStatus();
    });
    std::string second = addJob([](JobContext&) { return okStatus(); });
    manager().start(first);
    while (!first_running) {
        std::this_thread::sleep_for(5ms);
    }
    manager().start(second);
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (manager().snapshot(second)->status != JobStatus::Pending) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "second job never PENDING";
        std::this_thread::sleep_for(5ms);
    }

    ASSERT_TRUE(manager().abort(second).ok());
    auto waiting = manager().waitFor(second);
    EXPECT_EQ(waiting->status, JobStatus::Failed);
    EXPECT_EQ(waiting->failure_type, "Aborted");
    EXPECT_EQ(manager().snapshot(first)->status, JobStatus::Building);

    manager().abortAll();
    EXPECT_EQ(manager().snapshot(first)->status, JobStatus::Failed);
}

size_t threadCount() {
    size_t count = 0;
    for ([[maybe_unused]] const auto& task :
         std::filesystem::directory_iterator("/proc/self/task")) {
        ++count;
    }
    return count;
}

// Jobs waiting for a slot sit in a queue, not in threads, and all run once the slot frees up.
TEST_F(JobManagerTest, WaitingJobsHoldNoThreads) {
    manager(1);
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::atomic<int> order{0};
    std::atomic<bool> first_running{false};
    std::string first = addJob([released, &first_running](JobContext&) {
        first_running = true;
        released.wait();
        return okStatus();
    });
    std::vector<std::string> waiting;
    for (int i = 0; i < 100; ++i) {
        waiting.push_back(addJob([&order](JobContext&) {
            ++order;
            return okStatus();
        }));
    }
    size_t threads_before = threadCount();
    manager().start(first);
    while (!first_running) {
        std::this_thread::sleep_for(1ms);
    }
    for (const auto& id : waiting) {
        manager().start(id);
    }
    // Each PENDING is a synced store write; on a busy disk a hundred take a while.
    auto deadline = std::chrono::steady_clock::now() + 300s;
    for (const auto& id : waiting) {
        while (manager().snapshot(id)->status != JobStatus::Pending) {
            ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "job never PENDING";
            std::this_thread::sleep_for(1ms);
        }
    }
    // A job shows PENDING before its thread has written that to the store and stepped out, so
    // give the threads time to end. With a thread per waiting job they never would.
    while (threadCount() >= threads_before + 20 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_LT(threadCount(), threads_before + 20);

    release.set_value();
    for (const auto& id : waiting) {
        EXPECT_EQ(manager().waitFor(id)->status, JobStatus::Completed);
    }
    EXPECT_EQ(manager().waitFor(first)->status, JobStatus::Completed);
    EXPECT_EQ(order.load(), 100);
}

TEST_F(JobManagerTest, TimeoutStopsLongJob) {
    manager_ = std::make_unique<JobManager>(*store_, JobManagerOptions{2, 2, 1s});
    manager_->addObserver(observer_);
    std::string id = addJob([](JobContext& context) {
        sleepUnlessCancelled(context.cancelToken(), 60s);
        return okStatus();
    });
    manager().start(id);
    auto final_view = manager().waitFor(id);
    EXPECT_EQ(final_view->status, JobStatus::Failed);
    EXPECT_EQ(final_view->failure_type, "Timeout");
    EXPECT_NE(final_view->failure_info.find("1 s"), std::string::npos);
}

// A reader of the store gets a running job's progress, not only the percent of its last
// status change.
TEST_F(JobManagerTest, PersistsProgressOfRunningJob) {
    JobManagerOptions options;
    options.percent_persist_interval = 0ms;
    manager_ = std::make_unique<JobManager>(*store_, options);
    std::promise<void> reported;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::string id = addJob([&reported, released](JobContext& context) {
        context.setPercent(40);
        reported.set_value();
        released.wait();
        return okStatus();
    });
    manager().start(id);
    reported.get_future().wait();
    auto running = store_->getTargetImage(id);
    ASSERT_TRUE(running.ok());
    EXPECT_EQ(running->job.status, JobStatus::Building);
    EXPECT_EQ(running->job.percent_complete, 40);
    release.set_value();
    EXPECT_EQ(manager().waitFor(id)->status, JobStatus::Completed);
}

TEST_F(JobManagerTest, ExceptionInWorkFailsJob) {
    std::string id = addJob([](JobContext&) -> Status { throw std::runtime_error("boom"); });
    manager().start(id);
    auto final_view = manager().waitFor(id);
    EXPECT_EQ(final_view->status, JobStatus::Failed);
    EXPECT_NE(final_view->failure_info.find("boom"), std::string::npos);
}

}  // namespace
}  // namespace imagefactory
