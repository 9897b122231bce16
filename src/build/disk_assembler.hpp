#pragma once

#include <filesystem>
#include <string>

#include "build/disk_layout.hpp"
#include "build/process_runner.hpp"
#include "core/error.hpp"

namespace imagefactory {

// Where the GRUB files of the build host and of the guest are found.
struct BootLoaderFiles {
    std::filesystem::path grub_pc_dir = "/usr/lib/grub/i386-pc";
    // Inside the guest root: Debian's Microsoft-signed shim and the Debian-signed GRUB, so that
    // Secure Boot clouds accept the image and the versions match the guest.
    std::filesystem::path shim = "usr/lib/shim/shimx64.efi.signed";
    std::filesystem::path grub_efi = "usr/lib/grub/x86_64-efi-signed/grubx64.efi.signed";
};

struct AssemblyInput {
    std::filesystem::path rootfs;  // the finished guest root folder
    DiskLayout layout;
    std::string root_fs_uuid;
    std::string esp_volume_id;     // 8 hex digits, as mkfs.vfat -i takes it
    std::filesystem::path work;    // scratch folder for esp.img, core.img and the GRUB stage-1
    std::filesystem::path output;  // the raw disk to create
};

// GRUB's first-stage configuration on the ESP and in core.img: find the root file system by
// UUID and load its /boot/grub/grub.cfg.
std::string grubStage1Config(const std::string& root_fs_uuid);

// The guest's /boot/grub/grub.cfg: serial and VGA console, kernel and initrd through the
// /vmlinuz and /initrd.img symlinks so that kernel upgrades in the guest keep booting.
std::string grubMainConfig(const std::string& root_fs_uuid, const std::string& kernel_parameters);

// Builds a raw disk without loop devices or mounts: sfdisk writes the GPT into a sparse file,
// mke2fs -d fills the root partition at its offset, the ESP is made in a separate file with
// mkfs.vfat and mtools and copied in, and GRUB's BIOS stages are written and patched here.
Status assembleDisk(const ProcessRunner& runner, const AssemblyInput& input,
                    const BootLoaderFiles& files = {});

// Copies source into target at offset, skipping holes and all-zero blocks so that target stays
// sparse.
Status copyIntoAt(const std::filesystem::path& source, const std::filesystem::path& target,
                  uint64_t offset);

// Writes data into target at offset.
Status writeAt(const std::filesystem::path& target, uint64_t offset, const void* data, size_t size);

// size bytes of path from offset; ToolFailure when the file is shorter.
Result<std::vector<uint8_t>> readAt(const std::filesystem::path& path, uint64_t offset,
                                    size_t size);

Result<std::vector<uint8_t>> readBinaryFile(const std::filesystem::path& path,
                                            size_t max_bytes = 64 * kMiB);

}  // namespace imagefactory
