// Prints how long the Debian image pipeline takes and how large its outputs are:
//   - a template build with a warm .deb cache, after one with a cold cache (downloads) when
//     --cold is given,
//   - the same package set run through the bare tools (mmdebstrap, then disk assembly),
//   - a second target that reuses the cached base image,
//   - the size of every target format.
// Usage: image_bench DATA_DIR [TEMPLATE]   (DATA_DIR is emptied of base images first; pass
// --cold to empty its .deb cache too). Needs root, the Debian mirror and about 10 GB.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "build/debian_builder.hpp"
#include "build/image_targets.hpp"
#include "build/process_runner.hpp"
#include "core/template.hpp"

namespace {

namespace fs = std::filesystem;
using namespace imagefactory;
using Clock = std::chrono::steady_clock;

class BenchContext : public JobContext {
  public:
    BenchContext(std::string id, fs::path work) : id_(std::move(id)), work_(std::move(work)) {
        fs::create_directories(work_);
        logger_ = std::make_shared<spdlog::logger>(
            "bench-" + id_, std::make_shared<spdlog::sinks::stdout_sink_mt>());
        logger_->set_level(spdlog::level::warn);
    }
    const std::string& jobId() const override { return id_; }
    void setPercent(int) override {}
    CancelToken& cancelToken() override { return token_; }
    std::shared_ptr<spdlog::logger> logger() override { return logger_; }
    const fs::path& workDir() const override { return work_; }

  private:
    std::string id_;
    fs::path work_;
    CancelToken token_;
    std::shared_ptr<spdlog::logger> logger_;
};

double since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string readText(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

struct Timed {
    double seconds = 0;
    uint64_t bytes = 0;
    bool ok = false;
};

Timed buildTarget(TargetRegistry& registry, const fs::path& data, const std::string& target,
                  const std::string& xml) {
    BenchContext context(target, data / "bench-jobs" / target);
    BuildRequest request{"image", "build", "bench-" + target, target, xml, "{}"};
    auto start = Clock::now();
    Result<BuildOutput> output = registry.find(target)->build(request, context);
    Timed timed{since(start), 0, output.ok()};
    if (output.ok()) {
        timed.bytes = fs::file_size(output->file);
    } else {
        std::printf("  %s failed: %s\n", target.c_str(), output.error().message.c_str());
    }
    fs::remove_all(context.workDir());
    return timed;
}

// The core of the same work with the tools alone, as a person would run them: mmdebstrap with
// the same packages and .deb cache, mke2fs -d at the root partition's offset, and qemu-img.
// It skips what the factory adds (template files and commands, hygiene, ESP, GRUB, checks).
double bareTools(const fs::path& data, const Tdl& tdl) {
    fs::path work = data / "bench-bare";
    fs::remove_all(work);
    fs::create_directories(work);
    ProcessRunner runner(nullptr, nullptr);
    DebianRelease release{"12", "bookworm"};
    std::string include;
    for (const std::string& p : basePackages(release)) {
        include += (include.empty() ? "" : ",") + p;
    }
    for (const TdlPackage& p : tdl.packages) {
        include += "," + p.name;
    }
    fs::path cache = data / "deb_cache" / "bookworm";
    auto start = Clock::now();
    std::vector<std::vector<std::string>> steps = {
        {"mmdebstrap", "--mode=root", "--variant=minbase", "--include=" + include,
         "--aptopt=Acquire::Languages \"none\"", "--dpkgopt=path-exclude=/usr/share/doc/*",
         "--dpkgopt=path-exclude=/usr/share/man/*", "--dpkgopt=path-exclude=/usr/share/locale/*",
         "--skip=essential/unlink", "--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives/",
         "--setup-hook=sync-in '" + cache.string() + "' /var/cache/apt/archives/",
         "--customize-hook=rm -f \"$1\"/var/cache/apt/archives/*.deb", "bookworm",
         (work / "root").string(), "deb " + tdl.install_location + " bookworm main",
         "deb " + tdl.install_location + " bookworm-updates main",
         "deb http://deb.debian.org/debian-security bookworm-security main"},
        {"truncate", "-s", "2048M", (work / "disk.raw").string()},
        {"mke2fs", "-q", "-t", "ext4", "-F", "-d", (work / "root").string(), "-E",
         "offset=135266304", (work / "disk.raw").string(), "1964032k"},
        {"qemu-img", "convert", "-f", "raw", "-O", "qcow2", "-c", "-m", "8", "-W",
         (work / "disk.raw").string(), (work / "disk.qcow2").string()},
    };
    for (const auto& argv : steps) {
        Result<ProcessResult> result = runner.runChecked({.argv = argv, .log_output = false});
        if (!result) {
            std::printf("  bare step %s failed: %s\n", argv[0].c_str(),
                        result.error().message.c_str());
            return -1;
        }
    }
    double seconds = since(start);
    fs::remove_all(work);
    return seconds;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: image_bench DATA_DIR [TEMPLATE] [--cold]\n");
        return 2;
    }
    // Figures appear as they are measured, also when stdout is a file.
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    fs::path data = fs::absolute(argv[1]);
    std::string template_path = "examples/debian12-minimal.tdl";
    bool cold = false;
    for (int i = 2; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--cold") {
            cold = true;
        } else {
            template_path = arg;
        }
    }
    std::string xml = readText(template_path);
    Result<Tdl> tdl = parseTdl(xml);
    if (!tdl) {
        std::fprintf(stderr, "%s\n", tdl.error().message.c_str());
        return 1;
    }
    fs::remove_all(data / "base_images");
    if (cold) {
        fs::remove_all(data / "deb_cache");
    }
    TargetRegistry registry;
    ImageTargetOptions options;
    options.data_dir = data;
    registerImageTargets(registry, options);

    if (cold) {
        Timed cold_build = buildTarget(registry, data, "openstack-kvm", xml);
        std::printf("build with a cold .deb cache, qcow2: %.1f s\n", cold_build.seconds);
        fs::remove_all(data / "base_images");
    }
    Timed first = buildTarget(registry, data, "openstack-kvm", xml);
    std::printf("build with a warm .deb cache, qcow2: %.1f s\n", first.seconds);
    Timed second = buildTarget(registry, data, "ec2", xml);
    std::printf("second target with cached base image, raw: %.1f s\n", second.seconds);

    double bare = bareTools(data, *tdl);
    std::printf("bare tools, same packages, warm cache (mmdebstrap+mke2fs+qcow2): %.1f s\n", bare);
    if (bare > 0) {
        std::printf("factory / bare ratio: %.2f\n", first.seconds / bare);
    }

    std::printf("sizes:\n  %-12s %12llu bytes\n", "qcow2", (unsigned long long)first.bytes);
    std::printf("  %-12s %12llu bytes (apparent)\n", "raw", (unsigned long long)second.bytes);
    for (const char* target : {"vsphere", "azure", "hyperv", "gce"}) {
        Timed t = buildTarget(registry, data, target, xml);
        std::printf("  %-12s %12llu bytes (%.1f s with cached base)\n", target,
                    (unsigned long long)t.bytes, t.seconds);
    }
    return first.ok && second.ok ? 0 : 1;
}
