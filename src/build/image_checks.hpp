#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "build/debian_builder.hpp"
#include "build/process_runner.hpp"
#include "core/error.hpp"
#include "core/template.hpp"

namespace imagefactory {

// Reads a file from the ext4 root partition of a raw disk with debugfs, without mounting it.
Result<std::string> readGuestFile(const ProcessRunner& runner, const std::filesystem::path& disk,
                                  uint64_t root_offset, const std::string& guest_path);

// Names of the packages dpkg's status file lists as installed.
std::vector<std::string> installedPackages(std::string_view dpkg_status);

// Checks a base image straight from its bytes, with no VM: the partition table matches the
// layout, the root file system is clean, GRUB's BIOS stages are patched, the ESP holds shim and
// GRUB, the template's files and packages are present, and the hygiene rules held (fstab by
// UUID, empty machine-id, no SSH host keys). A failure is a ToolFailure naming the rule.
Status checkBaseImage(const ProcessRunner& runner, const std::filesystem::path& disk,
                      const BaseImageInfo& info, const Tdl& tdl);

}  // namespace imagefactory
