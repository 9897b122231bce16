#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "build/process_runner.hpp"
#include "core/error.hpp"

namespace spdlog {
class logger;
}

namespace imagefactory {

enum class Firmware { Uefi, Bios };

const char* firmwareName(Firmware firmware);

struct BootReport {
    std::string accelerator;  // "kvm" or "tcg"
    double seconds = 0;       // power-on to the marker
};

// The console line every image prints once systemd has reached multi-user.target (a oneshot
// unit ordered after the target writes it through journald; systemd's own status lines stop
// once a getty runs on the serial console).
inline constexpr std::string_view kMultiUserMarker = "imagefactory-boot: reached multi-user.target";

// Boots a disk in QEMU with no network and watches the serial console for kMultiUserMarker.
// KVM is used only when a short real boot under it reaches the kernel: on some hosts /dev/kvm
// exists but cannot run ordinary guests. Otherwise TCG. The result of that probe is kept for
// the life of the process.
class BootChecker {
  public:
    BootChecker(const ProcessRunner& runner, std::shared_ptr<spdlog::logger> logger,
                std::chrono::seconds timeout);

    // format is qemu's name for the disk's format (raw, qcow2, vpc, vhdx, vmdk). The disk is
    // opened read-only through a snapshot. ToolFailure when the marker does not appear in time
    // or the guest panics, with the last console lines.
    Result<BootReport> boot(const std::filesystem::path& disk, const std::string& format,
                            Firmware firmware);

  private:
    bool kvmWorks(const std::filesystem::path& disk, const std::string& format);
    std::vector<std::string> qemuArgv(const std::filesystem::path& disk, const std::string& format,
                                      Firmware firmware, bool kvm) const;

    const ProcessRunner& runner_;
    std::shared_ptr<spdlog::logger> logger_;
    std::chrono::seconds timeout_;
};

}  // namespace imagefactory
