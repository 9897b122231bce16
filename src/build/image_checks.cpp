#include "build/image_checks.hpp"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "build/disk_assembler.hpp"
#include "build/disk_layout.hpp"
#include "build/rootfs_files.hpp"

namespace imagefactory {

namespace {

namespace fs = std::filesystem;

Error ruleBroken(const std::string& rule, const std::string& detail) {
    return toolFailure("image check '" + rule + "' failed: " + detail);
}

std::string upper(std::string text) {
    for (char& c : text) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return text;
}

Status checkPartitionTable(const ProcessRunner& runner, const fs::path& disk,
                           const BaseImageInfo& info) {
    ProcessSpec spec{.argv = {"sfdisk", "--json", disk.string()}, .log_output = false};
    Result<ProcessResult> result = runner.runChecked(spec);
    if (!result) {
        return ruleBroken("partition table", result.error().message);
    }
    try {
        auto table = nlohmann::json::parse(result->stdout_text).at("partitiontable");
        if (table.at("label") != "gpt") {
            return ruleBroken("partition table", "the label is not gpt");
        }
        const auto& parts = table.at("partitions");
        const PartitionExtent* expected[] = {&info.layout.bios, &info.layout.esp,
                                             &info.layout.root};
        if (parts.size() != 3) {
            return ruleBroken("partition table",
                              "expected 3 partitions, found " + std::to_string(parts.size()));
        }
        for (size_t i = 0; i < 3; ++i) {
            if (parts[i].at("start").get<uint64_t>() != expected[i]->start_sector ||
                parts[i].at("size").get<uint64_t>() != expected[i]->size_sectors ||
                upper(parts[i].at("type").get<std::string>()) != expected[i]->type_guid) {
                return ruleBroken("partition table", "partition " + std::to_string(i + 1) +
                                                         " is not the planned " +
                                                         expected[i]->name + " partition");
            }
        }
    } catch (const nlohmann::json::exception& e) {
        return ruleBroken("partition table", std::string("sfdisk output unreadable: ") + e.what());
    }
    return okStatus();
}

Status checkBiosStages(const fs::path& disk, const BaseImageInfo& info) {
    Result<std::vector<uint8_t>> mbr = readAt(disk, 0, 512);
    Result<std::vector<uint8_t>> core = readAt(disk, info.layout.bios.offsetBytes(), 512);
    if (!mbr || !core) {
        return ruleBroken("BIOS boot stages", "cannot read " + disk.string());
    }
    uint64_t core_sector = info.layout.bios.start_sector;
    if ((*mbr)[510] != 0x55 || (*mbr)[511] != 0xAA) {
        return ruleBroken("BIOS boot stages", "the MBR has no boot signature");
    }
    if (getLe64(mbr->data() + kBootKernelSector) != core_sector) {
        return ruleBroken("BIOS boot stages", "boot.img does not point at core.img's sector");
    }
    if (getLe64(core->data() + kCoreBlocklistStart) != core_sector + 1) {
        return ruleBroken("BIOS boot stages", "core.img's block list does not start after it");
    }
    return okStatus();
}

}  // namespace

Result<std::string> readGuestFile(const ProcessRunner& runner, const fs::path& disk,
                                  uint64_t root_offset, const std::string& guest_path) {
    // debugfs parses its request itself (no shell); a path it cannot quote is not checked.
    if (guest_path.find_first_of("\"\n\\") != std::string::npos) {
        return userError("path " + guest_path + " cannot be passed to debugfs");
    }
    ProcessSpec spec{.argv = {"debugfs", "-R", "cat \"" + guest_path + "\"",
                              disk.string() + "?offset=" + std::to_string(root_offset)},
                     .log_output = false};
    Result<ProcessResult> result = runner.runChecked(spec);
    if (!result) {
        return result.error();
    }
    // debugfs reports a missing file on stderr and still exits 0.
    if (result->stderr_text.find("File not found") != std::string::npos) {
        return notFound(guest_path + " does not exist in the image");
    }
    return std::move(result->stdout_text);
}

std::vector<std::string> installedPackages(std::string_view dpkg_status) {
    std::vector<std::string> installed;
    std::string package;
    size_t pos = 0;
    while (pos <= dpkg_status.size()) {
        size_t end = dpkg_status.find('\n', pos);
        if (end == std::string_view::npos) {
            end = dpkg_status.size();
        }
        std::string_view line = dpkg_status.substr(pos, end - pos);
        if (line.rfind("Package: ", 0) == 0) {
            package = std::string(line.substr(9));
        } else if (line == "Status: install ok installed" && !package.empty()) {
            installed.push_back(package);
        } else if (line.empty()) {
            package.clear();
        }
        pos = end + 1;
    }
    std::sort(installed.begin(), installed.end());
    return installed;
}

Status checkBaseImage(const ProcessRunner& runner, const fs::path& disk, const BaseImageInfo& info,
                      const Tdl& tdl) {
    if (Status s = checkPartitionTable(runner, disk, info); !s) {
        return s;
    }
    uint64_t root = info.layout.root.offsetBytes();
    std::string root_device = disk.string() + "?offset=" + std::to_string(root);
    Result<ProcessResult> fsck =
        runner.run({.argv = {"e2fsck", "-fn", root_device}, .log_output = false});
    if (!fsck) {
        return fsck.error();
    }
    if (!fsck->succeeded()) {
        return ruleBroken("root file system clean", "e2fsck exit status " +
                                                        std::to_string(fsck->exit_code) + ": " +
                                                        lastLines(fsck->stdout_text, 3));
    }

    if (Status s = checkBiosStages(disk, info); !s) {
        return s;
    }

    ProcessSpec mdir{.argv = {"mdir", "-b", "-i",
                              disk.string() + "@@" + std::to_string(info.layout.esp.offsetBytes()),
                              "::/EFI/BOOT"},
                     .log_output = false};
    Result<ProcessResult> listing = runner.runChecked(mdir);
    if (!listing) {
        return ruleBroken("ESP holds shim and GRUB", listing.error().message);
    }
    for (const char* name : {"BOOTX64.EFI", "grubx64.efi", "grub.cfg"}) {
        if (listing->stdout_text.find(name) == std::string::npos) {
            return ruleBroken("ESP holds shim and GRUB",
                              std::string("::/EFI/BOOT/") + name + " is missing");
        }
    }

    Result<std::string> fstab = readGuestFile(runner, disk, root, "/etc/fstab");
    if (!fstab || fstab->find("UUID=" + info.root_fs_uuid + " / ") == std::string::npos) {
        return ruleBroken("fstab mounts root by UUID",
                          "/etc/fstab lacks UUID=" + info.root_fs_uuid);
    }
    Result<std::string> machine_id = readGuestFile(runner, disk, root, "/etc/machine-id");
    if (!machine_id || !machine_id->empty()) {
        return ruleBroken("empty machine-id", "/etc/machine-id is missing or not empty");
    }
    Result<ProcessResult> ssh = runner.runChecked(
        {.argv = {"debugfs", "-R", "ls /etc/ssh", root_device}, .log_output = false});
    if (!ssh) {
        return ssh.error();
    }
    if (ssh->stdout_text.find("ssh_host_") != std::string::npos) {
        return ruleBroken("no SSH host keys", "/etc/ssh still holds host keys");
    }
    if (readGuestFile(runner, disk, root, "/etc/hostname")) {
        return ruleBroken("no build-host hostname", "/etc/hostname is present");
    }

    for (const TdlFile& file : tdl.files) {
        Result<std::string> content = readGuestFile(runner, disk, root, file.name);
        if (!content && content.error().code == ErrorCode::UserInput) {
            continue;
        }
        if (!content) {
            return ruleBroken("template files present", content.error().message);
        }
        if (*content != file.content) {
            return ruleBroken("template files present", file.name + " differs from the template");
        }
    }
    Result<std::string> status = readGuestFile(runner, disk, root, "/var/lib/dpkg/status");
    if (!status) {
        return ruleBroken("template packages installed", status.error().message);
    }
    std::vector<std::string> installed = installedPackages(*status);
    for (const TdlPackage& package : tdl.packages) {
        if (!std::binary_search(installed.begin(), installed.end(), package.name)) {
            return ruleBroken("template packages installed", package.name + " is not installed");
        }
    }
    return okStatus();
}

}  // namespace imagefactory
