#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "build/debian_release.hpp"
#include "build/disk_layout.hpp"
#include "build/process_runner.hpp"
#include "core/template.hpp"

namespace spdlog {
class logger;
}

namespace imagefactory {

// Packages every image gets besides the template's: a kernel, systemd with networkd and
// resolved for DHCP and DNS, SSH, e2fsprogs for fsck and resize2fs, and the signed shim and
// GRUB that the ESP is made from.
std::vector<std::string> basePackages(const DebianRelease& release);

// Everything that decides a base image's content.
struct BaseImageRecipe {
    Tdl tdl;
    DebianRelease release;
    std::string mirror;           // the template's install URL
    std::string security_mirror;  // e.g. http://deb.debian.org/debian-security
    uint64_t disk_bytes = 0;      // requested; the layout rounds it up to a whole MiB
};

// Facts about a finished base image, stored next to it and used by the checks and targets.
struct BaseImageInfo {
    DiskLayout layout;
    std::string root_fs_uuid;
    std::string esp_volume_id;
    std::string codename;
};

std::string toJson(const BaseImageInfo& info);
Result<BaseImageInfo> baseImageInfoFromJson(std::string_view text);

// The commands of tdl in the order they run: by position where given, otherwise as written.
std::vector<TdlCommand> commandsInOrder(const Tdl& tdl);

// Builds a Debian base image (a raw disk) from a template with mmdebstrap, the template's
// files and commands, the factory's hygiene rules, and a disk assembled without loop devices.
// Every tool runs through the runner, so a cancel stops the build within a second.
class DebianImageBuilder {
  public:
    using Progress = std::function<void(int percent)>;  // 0..100 within the base image build

    DebianImageBuilder(const ProcessRunner& runner, std::shared_ptr<spdlog::logger> logger,
                       Progress progress);

    // work must be an empty-or-missing scratch folder; deb_cache keeps downloaded .debs per
    // suite across builds. Writes the disk to output.
    Result<BaseImageInfo> build(const BaseImageRecipe& recipe, const std::filesystem::path& work,
                                const std::filesystem::path& deb_cache,
                                const std::filesystem::path& output);

  private:
    Status runMmdebstrap(const BaseImageRecipe& recipe, const std::filesystem::path& rootfs,
                         const std::filesystem::path& work, const std::filesystem::path& cache);
    Status applyTemplate(const BaseImageRecipe& recipe, const std::filesystem::path& rootfs);
    Status runInGuest(const std::filesystem::path& rootfs, std::vector<std::string> command,
                      const std::string& label);
    Status applyHygiene(const std::filesystem::path& rootfs, const BaseImageInfo& info,
                        const BaseImageRecipe& recipe);
    Status setRootPassword(const std::filesystem::path& rootfs, const std::string& password);

    const ProcessRunner& runner_;
    std::shared_ptr<spdlog::logger> logger_;
    Progress progress_;
};

// Bytes the root file system needs for the files under rootfs, with room for metadata and a
// margin for first-boot writes.
Result<uint64_t> estimateRootBytes(const std::filesystem::path& rootfs);

}  // namespace imagefactory
