// Throughput of the SQLite image store: commits of target image batches and lookups by id.
// Every commit is synced to disk (synchronous=FULL), so commit figures mostly measure the
// fsync latency of the file system holding TMPDIR. Rates are per wall-clock second
// (UseRealTime), because a commit spends most of its time waiting for the disk, not on the CPU.

#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <system_error>

#include "store/sqlite_image_store.hpp"

namespace imagefactory {
namespace {

namespace fs = std::filesystem;

constexpr int kStoredTargetImages = 10000;

// A store in a fresh temporary directory, removed with the directory on destruction.
class ScratchStore {
  public:
    ScratchStore() {
        std::string pattern = (fs::temp_directory_path() / "if-store-bench-XXXXXX").string();
        if (::mkdtemp(pattern.data()) != nullptr) {
            dir_ = pattern;
            Result<std::unique_ptr<SqliteImageStore>> opened = SqliteImageStore::open(dir_);
            if (opened.ok()) {
                store_ = std::move(opened.value());
            }
        }
    }
    ~ScratchStore() {
        store_.reset();
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    SqliteImageStore* get() const { return store_.get(); }

  private:
    fs::path dir_;
    std::unique_ptr<SqliteImageStore> store_;
};

StoreBatch parentsBatch() {
    StoreBatch batch;
    batch.templates.push_back(TemplateRecord{"template-1", "<template/>", 0});
    ImageRecord image;
    image.id = "image-1";
    image.template_id = "template-1";
    batch.images.push_back(image);
    BuildRecord build;
    build.id = "build-1";
    build.image_id = "image-1";
    batch.builds.push_back(build);
    return batch;
}

TargetImageRecord targetImage(int number) {
    TargetImageRecord record;
    record.id = "target-image-" + std::to_string(number);
    record.build_id = "build-1";
    record.target = "ec2";
    record.template_id = "template-1";
    record.parameters = R"({"disk_size":"10G"})";
    record.job = {JobStatus::Building, 10, "", ""};
    return record;
}

// A store holding the parents and kStoredTargetImages target images, stored in one commit.
bool fillStore(SqliteImageStore& store) {
    StoreBatch batch = parentsBatch();
    for (int i = 0; i < kStoredTargetImages; ++i) {
        batch.target_images.push_back(targetImage(i));
    }
    return store.commit(batch).ok();
}

void commitNewTargetImage(benchmark::State& state) {
    ScratchStore scratch;
    if (scratch.get() == nullptr || !scratch.get()->commit(parentsBatch()).ok()) {
        state.SkipWithError("cannot open the store");
        return;
    }
    int number = 0;
    for (auto _ : state) {
        StoreBatch batch;
        batch.target_images.push_back(targetImage(number++));
        if (!scratch.get()->commit(batch).ok()) {
            state.SkipWithError("commit failed");
            return;
        }
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(commitNewTargetImage)->Unit(benchmark::kMicrosecond)->UseRealTime();

void commitReplacedTargetImage(benchmark::State& state) {
    ScratchStore scratch;
    if (scratch.get() == nullptr || !fillStore(*scratch.get())) {
        state.SkipWithError("cannot fill the store");
        return;
    }
    TargetImageRecord record = targetImage(42);
    for (auto _ : state) {
        record.job.percent_complete = (record.job.percent_complete + 1) % 100;
        if (!scratch.get()->commit(StoreBatch{.target_images = {record}}).ok()) {
            state.SkipWithError("commit failed");
            return;
        }
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(commitReplacedTargetImage)->Unit(benchmark::kMicrosecond)->UseRealTime();

void updateJobState(benchmark::State& state) {
    ScratchStore scratch;
    if (scratch.get() == nullptr || !fillStore(*scratch.get())) {
        state.SkipWithError("cannot fill the store");
        return;
    }
    int percent = 0;
    for (auto _ : state) {
        percent = (percent + 1) % 100;
        JobState job{JobStatus::Building, percent, "", ""};
        if (!scratch.get()->updateJobState(RecordKind::TargetImage, "target-image-7", job).ok()) {
            state.SkipWithError("update failed");
            return;
        }
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(updateJobState)->Unit(benchmark::kMicrosecond)->UseRealTime();

void getTargetImage(benchmark::State& state) {
    ScratchStore scratch;
    if (scratch.get() == nullptr || !fillStore(*scratch.get())) {
        state.SkipWithError("cannot fill the store");
        return;
    }
    std::mt19937 random(1);
    for (auto _ : state) {
        std::string id = "target-image-" + std::to_string(random() % kStoredTargetImages);
        Result<TargetImageRecord> record = scratch.get()->getTargetImage(id);
        if (!record.ok()) {
            state.SkipWithError("lookup failed");
            return;
        }
        benchmark::DoNotOptimize(record);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(getTargetImage)->Unit(benchmark::kMicrosecond)->UseRealTime();

void kindOf(benchmark::State& state) {
    ScratchStore scratch;
    if (scratch.get() == nullptr || !fillStore(*scratch.get())) {
        state.SkipWithError("cannot fill the store");
        return;
    }
    std::mt19937 random(1);
    for (auto _ : state) {
        std::string id = "target-image-" + std::to_string(random() % kStoredTargetImages);
        Result<RecordKind> kind = scratch.get()->kindOf(id);
        if (!kind.ok()) {
            state.SkipWithError("lookup failed");
            return;
        }
        benchmark::DoNotOptimize(kind);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(kindOf)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace imagefactory

BENCHMARK_MAIN();
