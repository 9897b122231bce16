// Prints how fast the export-directory push drivers move a large image:
//   - the chunked copy alone (copyImageFile: 4 MiB chunks, fsync at the end),
//   - a condorcloud push end to end (copy, domain XML, renames, directory syncs),
//   - a rhevm push end to end into a fake export storage domain (copy, .meta, OVF, renames).
// Usage: push_bench WORK_DIR [MIB] [RUNS]   (default 700 MiB, 3 runs). WORK_DIR gets a qcow2 of
// MIB MiB of random data, made with qemu-img convert, and the push destinations; it is emptied
// at the end. The source is read from the page cache after the first run.
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/uuid.hpp"
#include "providers/condorcloud_driver.hpp"
#include "providers/export_files.hpp"
#include "providers/rhevm_export_driver.hpp"

namespace {

namespace fs = std::filesystem;
using namespace imagefactory;
using Clock = std::chrono::steady_clock;

class BenchContext : public JobContext {
  public:
    explicit BenchContext(fs::path work) : work_(std::move(work)) {
        logger_ = std::make_shared<spdlog::logger>("push-bench",
                                                   std::make_shared<spdlog::sinks::null_sink_mt>());
    }
    const std::string& jobId() const override { return id_; }
    void setPercent(int) override {}
    CancelToken& cancelToken() override { return token_; }
    std::shared_ptr<spdlog::logger> logger() override { return logger_; }
    const fs::path& workDir() const override { return work_; }

  private:
    std::string id_ = "push-bench";
    fs::path work_;
    CancelToken token_;
    std::shared_ptr<spdlog::logger> logger_;
};

double secondsSince(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

bool makeSource(const fs::path& raw, const fs::path& qcow2, int mib) {
    std::string make_raw =
        "head -c " + std::to_string(mib) + "M /dev/urandom > '" + raw.string() + "'";
    std::string convert =
        "qemu-img convert -f raw -O qcow2 '" + raw.string() + "' '" + qcow2.string() + "'";
    bool made = std::system(make_raw.c_str()) == 0 && std::system(convert.c_str()) == 0;
    fs::remove(raw);
    return made;
}

// Prepares an images folder with staging/ and an NFS folder with one export storage domain.
void prepareDestinations(const fs::path& root) {
    fs::remove_all(root);
    fs::create_directories(root / "images" / "staging");
    fs::path domain = root / "nfs" / newUuid();
    fs::create_directories(domain / "dom_md");
    std::ofstream(domain / "dom_md" / "metadata") << "CLASS=Backup\n";
}

void printRate(const char* what, double seconds, double mib, const std::string& outcome) {
    std::printf("  %-26s %6.2f s  %7.0f MiB/s  %s\n", what, seconds, mib / seconds,
                outcome.c_str());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: push_bench WORK_DIR [MIB] [RUNS]\n");
        return 2;
    }
    fs::path work = argv[1];
    int mib = argc > 2 ? std::atoi(argv[2]) : 700;
    int runs = argc > 3 ? std::atoi(argv[3]) : 3;
    if (mib <= 0 || runs <= 0) {
        std::fprintf(stderr, "MIB and RUNS must be positive numbers\n");
        return 2;
    }
    fs::create_directories(work);
    fs::path source = work / "source.qcow2";
    if (!makeSource(work / "source.raw", source, mib)) {
        std::fprintf(stderr, "cannot make %s with head and qemu-img\n", source.c_str());
        return 1;
    }
    double source_mib = static_cast<double>(fs::file_size(source)) / (1024.0 * 1024.0);
    std::printf("source %s: %.0f MiB qcow2\n", source.c_str(), source_mib);

    fs::path root = work / "destinations";
    for (int run = 1; run <= runs; ++run) {
        prepareDestinations(root);
        BenchContext context(work);
        std::printf("run %d\n", run);

        auto start = Clock::now();
        Status copied = copyImageFile(source, root / "plain-copy", context, 0, 100);
        printRate("copyImageFile", secondsSince(start), source_mib,
                  copied.ok() ? "ok" : copied.error().message);
        fs::remove(root / "plain-copy");

        PushRequest request;
        request.target_image_id = newUuid();
        request.provider_image_id = newUuid();
        request.target_image_file = source;
        request.provider = {
            "condor-bench", "condorcloud", {{"images_dir", (root / "images").string()}}};
        CondorCloudDriver condor;
        start = Clock::now();
        Result<PushOutput> condor_output = condor.push(request, context);
        printRate("condorcloud push", secondsSince(start), source_mib,
                  condor_output.ok() ? "ok" : condor_output.error().message);

        request.provider = {
            "rhevm-bench",
            "rhevm",
            {{"nfs-dir", (root / "nfs").string()}, {"username", "bench"}, {"password", "bench"}}};
        RhevmExportDriver rhevm;
        start = Clock::now();
        Result<PushOutput> rhevm_output = rhevm.push(request, context);
        printRate("rhevm push", secondsSince(start), source_mib,
                  rhevm_output.ok() ? "ok" : rhevm_output.error().message);
    }
    fs::remove_all(root);
    fs::remove(source);
    return 0;
}
