#include "build/boot_check.hpp"

#include <spdlog/spdlog.h>

#include <mutex>
#include <optional>

namespace imagefactory {

namespace {

constexpr const char* kOvmf = "/usr/share/ovmf/OVMF.fd";
constexpr std::chrono::seconds kKvmProbeTime{20};

std::mutex probe_mutex;
std::optional<bool> kvm_probe_result;

}  // namespace

const char* firmwareName(Firmware firmware) {
    return firmware == Firmware::Uefi ? "uefi" : "bios";
}

BootChecker::BootChecker(const ProcessRunner& runner, std::shared_ptr<spdlog::logger> logger,
                         std::chrono::seconds timeout)
    : runner_(runner), logger_(std::move(logger)), timeout_(timeout) {}

std::vector<std::string> BootChecker::qemuArgv(const std::filesystem::path& disk,
                                               const std::string& format, Firmware firmware,
                                               bool kvm) const {
    std::vector<std::string> argv = {"qemu-system-x86_64",
                                     "-accel",
                                     kvm ? "kvm" : "tcg",
                                     "-cpu",
                                     kvm ? "host" : "max",
                                     "-m",
                                     "1024",
                                     "-smp",
                                     "2",
                                     "-nic",
                                     "none",
                                     "-no-reboot",
                                     "-display",
                                     "none",
                                     "-monitor",
                                     "none",
                                     "-serial",
                                     "stdio"};
    if (firmware == Firmware::Uefi) {
        argv.insert(argv.end(), {"-bios", kOvmf});
    }
    argv.insert(argv.end(), {"-drive", "file=" + disk.string() + ",format=" + format +
                                           ",if=virtio,snapshot=on,readonly=off"});
    return argv;
}

bool BootChecker::kvmWorks(const std::filesystem::path& disk, const std::string& format) {
    std::lock_guard lock(probe_mutex);
    if (kvm_probe_result) {
        return *kvm_probe_result;
    }
    // A real boot attempt: reaching the kernel's banner within the probe time proves KVM runs
    // this kind of guest. Only that is probed; the full check then runs with the winner.
    ProcessSpec spec{.argv = qemuArgv(disk, format, Firmware::Uefi, true)};
    spec.timeout = kKvmProbeTime;
    spec.log_output = false;
    spec.stop_when = [](std::string_view line) {
        return line.find("Linux version") != std::string_view::npos;
    };
    Result<ProcessResult> result = runner_.run(spec);
    if (!result && result.error().code == ErrorCode::Aborted) {
        return false;  // not recorded: the job was aborted, the probe did not finish
    }
    kvm_probe_result = result.ok() && result->stopped;
    logger_->info("kvm probe: {}", *kvm_probe_result ? "kvm boots guests" : "falling back to tcg");
    return *kvm_probe_result;
}

Result<BootReport> BootChecker::boot(const std::filesystem::path& disk, const std::string& format,
                                     Firmware firmware) {
    bool kvm = kvmWorks(disk, format);
    ProcessSpec spec{.argv = qemuArgv(disk, format, firmware, kvm)};
    spec.timeout = timeout_;
    spec.log_output = false;
    bool panicked = false;
    spec.stop_when = [&panicked](std::string_view line) {
        if (line.find("Kernel panic") != std::string_view::npos) {
            panicked = true;
            return true;
        }
        return line.find(kMultiUserMarker) != std::string_view::npos;
    };
    logger_->info("boot check firmware={} accelerator={} disk={}", firmwareName(firmware),
                  kvm ? "kvm" : "tcg", disk.filename().string());
    Result<ProcessResult> result = runner_.run(spec);
    if (!result) {
        if (result.error().code == ErrorCode::ToolFailure) {
            return toolFailure(std::string("boot check (") + firmwareName(firmware) +
                               ") failed: no '" + std::string(kMultiUserMarker) +
                               "' on the serial console: " + result.error().message);
        }
        return result.error();
    }
    std::string tail = lastLines(result->stdout_text, 5);
    if (panicked || !result->stopped) {
        return toolFailure(std::string("boot check (") + firmwareName(firmware) +
                           ") failed: the guest " + (panicked ? "panicked" : "stopped") +
                           " before reaching the multi-user target; last console lines: " + tail);
    }
    BootReport report{kvm ? "kvm" : "tcg", std::chrono::duration<double>(result->duration).count()};
    logger_->info("boot check passed firmware={} seconds={:.1f}", firmwareName(firmware),
                  report.seconds);
    return report;
}

}  // namespace imagefactory
