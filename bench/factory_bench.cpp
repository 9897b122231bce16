// Measures the factory service end to end on the mock target: builds per second one after
// another, 100 concurrent builds with every observer event counted, builds queued behind two
// slots with the peak thread count, and the peak RSS. Prints the figures; it asserts nothing
// about speed.
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

#include "build/mock_target.hpp"
#include "core/logging.hpp"
#include "core/uuid.hpp"
#include "factory/factory.hpp"
#include "store/image_store.hpp"

using namespace imagefactory;
using Clock = std::chrono::steady_clock;

namespace {

// Counts observer calls and checks each job's events arrive in a valid order.
class CountingObserver : public JobObserver {
  public:
    void onJobCreated(const JobSnapshot&) override { ++events; }
    void onStatusChanged(const JobSnapshot&, JobStatus, JobStatus to) override {
        ++events;
        if (to == JobStatus::Completed) {
            ++completed;
        }
    }
    void onPercentChanged(const JobSnapshot&, int) override { ++events; }
    void onFailed(const JobSnapshot&, const std::string&, const std::string&) override {
        ++events;
        ++failed;
    }

    std::atomic<long> events{0};
    std::atomic<long> completed{0};
    std::atomic<long> failed{0};
};

constexpr const char* kFastTemplate = "<template><mock_step_ms>0</mock_step_ms></template>";

double seconds(Clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

size_t threadCount() {
    size_t count = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
        ++count;
    }
    return count;
}

// Runs builds through a factory with two build slots and samples the process's thread count
// meanwhile, to show that jobs waiting for a slot hold no thread.
int queuedBuilds(ImageStore& store, TargetRegistry& targets, int count) {
    ProviderRegistry providers;
    FactoryOptions options;
    options.max_concurrent_local_builds = 2;
    Factory factory(store, targets, providers, options);

    std::atomic<bool> sampling{true};
    std::atomic<size_t> peak{threadCount()};
    std::thread sampler([&] {
        while (sampling) {
            size_t now = threadCount();
            if (now > peak) {
                peak = now;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
    });
    size_t baseline = peak;
    auto start = Clock::now();
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i) {
        auto jobs = factory.buildImage("", "", kFastTemplate, {"mock"});
        if (!jobs.ok()) {
            std::fprintf(stderr, "build failed: %s\n", jobs.error().message.c_str());
            sampling = false;
            sampler.join();
            return 1;
        }
        ids.push_back(jobs->front().id);
    }
    for (const auto& id : ids) {
        factory.waitForJob(id);
    }
    double total = seconds(Clock::now() - start);
    sampling = false;
    sampler.join();
    std::printf(
        "queued mock builds: %d behind 2 slots in %.2f s = %.1f builds/s; threads %zu "
        "before, peak %zu\n",
        count, total, count / total, baseline, peak.load());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    int sequential = argc > 1 ? std::atoi(argv[1]) : 200;
    int concurrent = argc > 2 ? std::atoi(argv[2]) : 100;
    int queued = argc > 3 ? std::atoi(argv[3]) : 500;
    configureLogging(spdlog::level::err);

    auto dir = std::filesystem::temp_directory_path() / ("factory-bench-" + newUuid());
    auto store = openSqliteImageStore(dir);
    if (!store.ok()) {
        std::fprintf(stderr, "cannot open store: %s\n", store.error().message.c_str());
        return 1;
    }
    TargetRegistry targets;
    targets.add(std::make_shared<MockTarget>());
    ProviderRegistry providers;
    FactoryOptions options;
    options.max_concurrent_local_builds = concurrent;
    Factory factory(**store, targets, providers, options);
    auto observer = std::make_shared<CountingObserver>();
    factory.addObserver(observer);

    auto start = Clock::now();
    for (int i = 0; i < sequential; ++i) {
        auto jobs = factory.buildImage("", "", kFastTemplate, {"mock"});
        if (!jobs.ok()) {
            std::fprintf(stderr, "build failed: %s\n", jobs.error().message.c_str());
            return 1;
        }
        factory.waitForJob(jobs->front().id);
    }
    double sequential_seconds = seconds(Clock::now() - start);
    std::printf("sequential mock builds: %d in %.2f s = %.1f builds/s (%.1f ms each)\n", sequential,
                sequential_seconds, sequential / sequential_seconds,
                1000 * sequential_seconds / sequential);

    long events_before = observer->events;
    long completed_before = observer->completed;
    start = Clock::now();
    std::vector<std::string> ids;
    for (int i = 0; i < concurrent; ++i) {
        auto jobs = factory.buildImage("", "", kFastTemplate, {"mock"});
        if (!jobs.ok()) {
            std::fprintf(stderr, "build failed: %s\n", jobs.error().message.c_str());
            return 1;
        }
        ids.push_back(jobs->front().id);
    }
    for (const auto& id : ids) {
        factory.waitForJob(id);
    }
    double concurrent_seconds = seconds(Clock::now() - start);
    long events = observer->events - events_before;
    // Per build: created, 4 status changes and 8 percent steps.
    long expected = 13L * concurrent;
    std::printf(
        "concurrent mock builds: %d in %.2f s = %.1f builds/s; completed %ld; events "
        "%ld of %ld expected%s\n",
        concurrent, concurrent_seconds, concurrent / concurrent_seconds,
        observer->completed - completed_before, events, expected,
        events == expected ? "" : "  <-- EVENTS LOST");

    if (queuedBuilds(**store, targets, queued) != 0) {
        return 1;
    }

    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf("peak RSS: %.1f MiB\n", usage.ru_maxrss / 1024.0);

    std::filesystem::remove_all(dir);
    return events == expected ? 0 : 1;
}
