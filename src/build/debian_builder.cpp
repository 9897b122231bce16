#include "build/debian_builder.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "build/disk_assembler.hpp"
#include "build/rootfs_files.hpp"
#include "core/uuid.hpp"

namespace imagefactory {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kWiredNetwork = "[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n";

constexpr std::string_view kHosts =
    "127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n"
    "ff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n";

// Host keys are removed from the image so that no two machines share them; this unit makes
// new ones on first boot, before sshd needs them.
constexpr std::string_view kSshKeygenUnit =
    "[Unit]\nDescription=Generate SSH host keys on first boot\n"
    "Before=ssh.service\nConditionPathExists=!/etc/ssh/ssh_host_ed25519_key\n\n"
    "[Service]\nType=oneshot\nExecStart=/usr/bin/ssh-keygen -A\n\n"
    "[Install]\nWantedBy=ssh.service\n";

constexpr std::string_view kSshKeygenUnitName = "imagefactory-ssh-keygen.service";

// systemd stops printing unit status on the console once a getty runs there, so the "Reached
// target multi-user.target" line never reaches a serial console with a login prompt. This unit
// runs after the target and prints a marker through journald, which a boot check can watch.
constexpr std::string_view kBootMarkerUnit =
    "[Unit]\nDescription=Report the multi-user target on the console\n"
    "After=multi-user.target\n\n"
    "[Service]\nType=oneshot\nExecStart=/bin/echo imagefactory-boot: reached multi-user.target\n"
    "StandardOutput=journal+console\n\n"
    "[Install]\nWantedBy=multi-user.target\n";

constexpr std::string_view kBootMarkerUnitName = "imagefactory-boot-marker.service";

// Keeps services from starting inside the build chroot while template commands install
// packages; removed before the image is assembled.
constexpr std::string_view kPolicyRcD = "#!/bin/sh\nexit 101\n";

// mmdebstrap parses special hooks with shell word splitting, so paths are single-quoted.
Result<std::string> hookQuote(const fs::path& path) {
    std::string text = path.string();
    if (text.find('\'') != std::string::npos || text.find('\n') != std::string::npos) {
        return userError("path " + text +
                         " contains a single quote or newline, which cannot be passed to an "
                         "mmdebstrap hook; choose a data folder without them");
    }
    return "'" + text + "'";
}

// The FAT volume id as fstab and blkid spell it: "ABCD-1234".
std::string fatVolumeUuid(const std::string& volume_id) {
    std::string upper;
    for (char c : volume_id) {
        upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return upper.substr(0, 4) + "-" + upper.substr(4, 4);
}

// Moves .debs apt downloaded in this build into the shared cache. A rename is atomic, so a
// concurrent build reading the cache sees whole files only.
void mergeDebCache(const fs::path& downloaded, const fs::path& cache, spdlog::logger* logger) {
    std::error_code ec;
    size_t added = 0;
    for (const auto& entry : fs::directory_iterator(downloaded, ec)) {
        if (entry.path().extension() != ".deb" || !entry.is_regular_file()) {
            continue;
        }
        fs::path target = cache / entry.path().filename();
        if (fs::exists(target)) {
            continue;
        }
        std::error_code rename_ec;
        fs::rename(entry.path(), target, rename_ec);
        if (!rename_ec) {
            ++added;
        }
    }
    if (logger != nullptr) {
        logger->info("deb cache {} gained {} packages", cache.string(), added);
    }
}

std::string_view trimHash(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
        text.remove_suffix(1);
    }
    return text;
}

}  // namespace

std::vector<std::string> basePackages(const DebianRelease& release) {
    std::vector<std::string> packages = {"linux-image-amd64",
                                         "systemd-sysv",
                                         "udev",
                                         "dbus",
                                         "openssh-server",
                                         "ca-certificates",
                                         "e2fsprogs",
                                         "shim-signed",
                                         "grub-efi-amd64-signed",
                                         "less"};
    // bullseye ships resolved inside the systemd package.
    if (release.codename != "bullseye") {
        packages.push_back("systemd-resolved");
    }
    return packages;
}

std::vector<TdlCommand> commandsInOrder(const Tdl& tdl) {
    std::vector<TdlCommand> commands = tdl.commands;
    std::stable_sort(
        commands.begin(), commands.end(),
        [](const TdlCommand& a, const TdlCommand& b) { return a.position < b.position; });
    return commands;
}

std::string toJson(const BaseImageInfo& info) {
    nlohmann::json doc;
    doc["disk_bytes"] = info.layout.disk_bytes;
    doc["disk_guid"] = info.layout.disk_guid;
    nlohmann::json parts = nlohmann::json::array();
    for (const PartitionExtent* part : {&info.layout.bios, &info.layout.esp, &info.layout.root}) {
        parts.push_back({{"name", part->name},
                         {"type", part->type_guid},
                         {"uuid", part->uuid},
                         {"start", part->start_sector},
                         {"size", part->size_sectors}});
    }
    doc["partitions"] = parts;
    doc["root_fs_uuid"] = info.root_fs_uuid;
    doc["esp_volume_id"] = info.esp_volume_id;
    doc["codename"] = info.codename;
    return doc.dump(2) + "\n";
}

Result<BaseImageInfo> baseImageInfoFromJson(std::string_view text) {
    try {
        nlohmann::json doc = nlohmann::json::parse(text);
        BaseImageInfo info;
        info.layout.disk_bytes = doc.at("disk_bytes").get<uint64_t>();
        info.layout.disk_guid = doc.at("disk_guid").get<std::string>();
        const auto& parts = doc.at("partitions");
        if (parts.size() != 3) {
            return internalError("base image record does not list three partitions");
        }
        PartitionExtent* targets[] = {&info.layout.bios, &info.layout.esp, &info.layout.root};
        for (size_t i = 0; i < 3; ++i) {
            *targets[i] = {
                parts[i].at("name").get<std::string>(), parts[i].at("type").get<std::string>(),
                parts[i].at("uuid").get<std::string>(), parts[i].at("start").get<uint64_t>(),
                parts[i].at("size").get<uint64_t>()};
        }
        info.root_fs_uuid = doc.at("root_fs_uuid").get<std::string>();
        info.esp_volume_id = doc.at("esp_volume_id").get<std::string>();
        info.codename = doc.at("codename").get<std::string>();
        return info;
    } catch (const nlohmann::json::exception& e) {
        return internalError(std::string("base image record is invalid: ") + e.what());
    }
}

Result<uint64_t> estimateRootBytes(const fs::path& rootfs) {
    std::error_code ec;
    uint64_t bytes = 0;
    uint64_t inodes = 0;
    auto it = fs::recursive_directory_iterator(rootfs, fs::directory_options::none, ec);
    if (ec) {
        return internalError("cannot read " + rootfs.string() + ": " + ec.message());
    }
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) {
            return internalError("cannot read " + rootfs.string() + ": " + ec.message());
        }
        ++inodes;
        fs::file_status status = it->symlink_status();
        if (fs::is_regular_file(status)) {
            bytes += (it->file_size() + 4095) / 4096 * 4096;
        } else {
            bytes += 4096;
        }
    }
    // ext4 spends about 256 bytes per inode plus the journal; the rest is room for first-boot
    // writes and logs.
    return bytes + bytes / 5 + inodes * 256 + 256 * kMiB;
}

DebianImageBuilder::DebianImageBuilder(const ProcessRunner& runner,
                                       std::shared_ptr<spdlog::logger> logger, Progress progress)
    : runner_(runner), logger_(std::move(logger)), progress_(std::move(progress)) {}

Status DebianImageBuilder::runMmdebstrap(const BaseImageRecipe& recipe, const fs::path& rootfs,
                                         const fs::path& work, const fs::path& cache) {
    fs::path downloaded = work / "downloaded-debs";
    std::error_code ec;
    fs::create_directories(cache, ec);
    fs::create_directories(downloaded, ec);
    Result<std::string> cache_arg = hookQuote(cache);
    Result<std::string> downloaded_arg = hookQuote(downloaded);
    if (!cache_arg || !downloaded_arg) {
        return !cache_arg ? cache_arg.error() : downloaded_arg.error();
    }

    std::vector<std::string> packages = basePackages(recipe.release);
    for (const TdlPackage& package : recipe.tdl.packages) {
        packages.push_back(package.name);
    }
    std::string include;
    for (const std::string& package : packages) {
        include += (include.empty() ? "" : ",") + package;
    }

    const std::string& suite = recipe.release.codename;
    // A private mount namespace holds the proc, sys and dev mounts mmdebstrap makes in the
    // chroot, so they vanish with the process even when an abort kills it mid-way.
    std::vector<std::string> argv = {
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "mmdebstrap",
        "--mode=root",
        "--variant=minbase",
        "--architectures=amd64",
        "--verbose",
        "--include=" + include,
        "--aptopt=Acquire::Languages \"none\"",
        "--aptopt=Acquire::Retries \"3\"",
        "--dpkgopt=path-exclude=/usr/share/doc/*",
        "--dpkgopt=path-include=/usr/share/doc/*/copyright",
        "--dpkgopt=path-exclude=/usr/share/man/*",
        "--dpkgopt=path-exclude=/usr/share/locale/*",
        "--skip=essential/unlink",
        "--setup-hook=mkdir -p \"$1\"/var/cache/apt/archives/",
        "--setup-hook=sync-in " + *cache_arg + " /var/cache/apt/archives/",
        "--customize-hook=sync-out /var/cache/apt/archives " + *downloaded_arg,
        "--customize-hook=rm -f \"$1\"/var/cache/apt/archives/*.deb",
        suite,
        rootfs.string(),
        "deb " + recipe.mirror + " " + suite + " main",
        "deb " + recipe.mirror + " " + suite + "-updates main",
        "deb " + recipe.security_mirror + " " + suite + "-security main"};
    for (const TdlRepository& repository : recipe.tdl.repositories) {
        Result<std::string> line = aptSourceLine(repository, recipe.release);
        if (!line) {
            return line.error();
        }
        argv.push_back(*line);
    }

    // mmdebstrap prints no totals, so progress follows its phases and counts apt and dpkg
    // lines within them; about three such lines per package is typical.
    int expected_events = static_cast<int>(packages.size() + 180) * 3;
    int events = 0;
    int phase_floor = 0;
    ProcessSpec spec{.argv = argv};
    spec.log_name = "mmdebstrap";
    spec.env["LC_ALL"] = "C.UTF-8";
    spec.timeout = std::chrono::hours(1);
    spec.on_line = [&](OutputStream, std::string_view line) {
        if (line.find("I: downloading packages") != std::string_view::npos) {
            phase_floor = std::max(phase_floor, 10);
        } else if (line.find("I: extracting archives") != std::string_view::npos) {
            phase_floor = std::max(phase_floor, 25);
        } else if (line.find("I: installing remaining packages") != std::string_view::npos) {
            phase_floor = std::max(phase_floor, 35);
        } else if (line.find("I: running --customize-hook") != std::string_view::npos) {
            phase_floor = std::max(phase_floor, 65);
        }
        if (line.rfind("Get:", 0) == 0 || line.rfind("Unpacking ", 0) == 0 ||
            line.rfind("Setting up ", 0) == 0) {
            ++events;
        }
        int counted = 2 + std::min(60, events * 60 / std::max(1, expected_events));
        progress_(std::min(68, std::max(phase_floor, counted)));
    };
    Result<ProcessResult> result = runner_.runChecked(spec);
    mergeDebCache(downloaded, cache, logger_.get());
    if (!result) {
        return result.error();
    }
    progress_(70);
    return okStatus();
}

Status DebianImageBuilder::runInGuest(const fs::path& rootfs, std::vector<std::string> command,
                                      const std::string& label) {
    // proc is mounted in a private namespace that dies with the command; /dev holds the static
    // nodes mmdebstrap created.
    std::vector<std::string> argv = {"unshare",
                                     "--mount",
                                     "--propagation",
                                     "private",
                                     "--pid",
                                     "--fork",
                                     "--mount-proc=" + (rootfs / "proc").string(),
                                     "--",
                                     "chroot",
                                     rootfs.string()};
    argv.insert(argv.end(), command.begin(), command.end());
    ProcessSpec spec{.argv = argv};
    spec.log_name = "chroot " + command.front();
    spec.env = {{"LC_ALL", "C.UTF-8"},
                {"DEBIAN_FRONTEND", "noninteractive"},
                {"HOME", "/root"},
                {"PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}};
    spec.timeout = std::chrono::minutes(30);
    Result<ProcessResult> result = runner_.runChecked(spec);
    if (!result) {
        return Error{result.error().code, label + " failed: " + result.error().message};
    }
    return okStatus();
}

Status DebianImageBuilder::setRootPassword(const fs::path& rootfs, const std::string& password) {
    std::string hash;
    if (!password.empty()) {
        // The password travels on stdin: argv is visible to every user of the host.
        ProcessSpec spec{.argv = {"openssl", "passwd", "-6", "-stdin"}};
        spec.stdin_data = password + "\n";
        spec.log_output = false;
        Result<ProcessResult> result = runner_.runChecked(spec);
        if (!result) {
            return Error{result.error().code, "cannot hash the root password"};
        }
        hash = std::string(trimHash(result->stdout_text));
    }
    RootfsFiles files(rootfs);
    Result<std::string> shadow = files.readFile("/etc/shadow");
    if (!shadow) {
        return shadow.error();
    }
    Result<std::string> updated = setShadowRootHash(*shadow, hash);
    if (!updated) {
        return updated.error();
    }
    return files.writeFile("/etc/shadow", *updated, 0640);
}

Status DebianImageBuilder::applyTemplate(const BaseImageRecipe& recipe, const fs::path& rootfs) {
    RootfsFiles files(rootfs);
    for (const TdlFile& file : recipe.tdl.files) {
        logger_->info("writing template file {} ({} bytes)", file.name, file.content.size());
        if (Status s = files.writeFile(file.name, file.content); !s) {
            return s;
        }
    }

    bool own_policy = !files.exists("/usr/sbin/policy-rc.d");
    if (own_policy) {
        if (Status s = files.writeFile("/usr/sbin/policy-rc.d", kPolicyRcD, 0755); !s) {
            return s;
        }
    }
    // Networking and the first-boot key generation are enabled before the template's commands
    // run, so that a command can still change them.
    if (Status s = files.writeFile("/etc/systemd/network/20-wired.network", kWiredNetwork); !s) {
        return s;
    }
    std::vector<std::string> units = {"systemd-networkd.service"};
    if (files.exists("/lib/systemd/systemd-resolved")) {
        units.push_back("systemd-resolved.service");
    }
    std::vector<std::string> enable = {"systemctl", "enable", "--quiet"};
    enable.insert(enable.end(), units.begin(), units.end());
    if (Status s = runInGuest(rootfs, enable, "enabling " + units.front()); !s) {
        return s;
    }

    std::vector<TdlCommand> commands = commandsInOrder(recipe.tdl);
    for (size_t i = 0; i < commands.size(); ++i) {
        const TdlCommand& command = commands[i];
        // The command text goes into a file that the guest's shell reads, so no host shell
        // ever sees template text.
        std::string script_path = "/tmp/imagefactory-command-" + std::to_string(i);
        if (Status s = files.writeFile(script_path, command.content, 0700); !s) {
            return s;
        }
        logger_->info("running template command name={}", command.name);
        Status status =
            runInGuest(rootfs, {"/bin/sh", "-e", script_path}, "command '" + command.name + "'");
        Status removed = files.remove(script_path);
        if (!status) {
            return status;
        }
        if (!removed) {
            return removed;
        }
        progress_(70 + static_cast<int>(5 * (i + 1) / commands.size()));
    }
    if (own_policy) {
        if (Status s = files.remove("/usr/sbin/policy-rc.d"); !s) {
            return s;
        }
    }
    return setRootPassword(rootfs, recipe.tdl.rootpw);
}

Status DebianImageBuilder::applyHygiene(const fs::path& rootfs, const BaseImageInfo& info,
                                        const BaseImageRecipe& recipe) {
    RootfsFiles files(rootfs);
    // mmdebstrap copies the build host's resolv.conf and hostname into the image.
    if (Status s = files.remove("/etc/resolv.conf"); !s) {
        return s;
    }
    if (files.exists("/lib/systemd/systemd-resolved") ||
        files.exists("/usr/lib/systemd/systemd-resolved")) {
        if (Status s =
                files.makeSymlink("/etc/resolv.conf", "../run/systemd/resolve/stub-resolv.conf");
            !s) {
            return s;
        }
    }
    if (Status s = files.remove("/etc/hostname"); !s) {
        return s;
    }
    if (Status s = files.writeFile("/etc/hosts", kHosts); !s) {
        return s;
    }
    // An empty machine-id makes systemd create a fresh one on first boot.
    if (Status s = files.writeFile("/etc/machine-id", "", 0444); !s) {
        return s;
    }
    if (Status s = files.remove("/var/lib/dbus/machine-id"); !s) {
        return s;
    }

    std::error_code ec;
    if (fs::is_directory(fs::symlink_status(rootfs / "etc" / "ssh", ec))) {
        for (const auto& entry : fs::directory_iterator(rootfs / "etc" / "ssh", ec)) {
            std::string name = entry.path().filename().string();
            if (name.rfind("ssh_host_", 0) == 0) {
                if (Status s = files.remove("/etc/ssh/" + name); !s) {
                    return s;
                }
            }
        }
    }
    if (files.exists("/usr/sbin/sshd")) {
        std::string unit_path = "/etc/systemd/system/" + std::string(kSshKeygenUnitName);
        if (Status s = files.writeFile(unit_path, kSshKeygenUnit); !s) {
            return s;
        }
        if (Status s = files.makeSymlink(
                "/etc/systemd/system/ssh.service.wants/" + std::string(kSshKeygenUnitName),
                unit_path);
            !s) {
            return s;
        }
    }

    // Repositories the template marks persisted=false serve the build only.
    Result<std::string> sources = files.readFile("/etc/apt/sources.list");
    if (sources) {
        std::string kept;
        std::istringstream lines(*sources);
        for (std::string line; std::getline(lines, line);) {
            bool drop = false;
            for (const TdlRepository& repository : recipe.tdl.repositories) {
                Result<std::string> source = aptSourceLine(repository, recipe.release);
                drop = drop || (!repository.persisted && source && *source == line);
            }
            if (!drop) {
                kept += line + "\n";
            }
        }
        if (Status s = files.writeFile("/etc/apt/sources.list", kept); !s) {
            return s;
        }
    }

    std::string marker_path = "/etc/systemd/system/" + std::string(kBootMarkerUnitName);
    if (Status s = files.writeFile(marker_path, kBootMarkerUnit); !s) {
        return s;
    }
    if (Status s = files.makeSymlink(
            "/etc/systemd/system/multi-user.target.wants/" + std::string(kBootMarkerUnitName),
            marker_path);
        !s) {
        return s;
    }

    std::string fstab = "UUID=" + info.root_fs_uuid +
                        " / ext4 defaults,discard,errors=remount-ro 0 1\n"
                        "UUID=" +
                        fatVolumeUuid(info.esp_volume_id) +
                        " /boot/efi vfat umask=0077,nofail 0 2\n";
    if (Status s = files.writeFile("/etc/fstab", fstab); !s) {
        return s;
    }
    if (Status s = files.makeDirectories("/boot/efi"); !s) {
        return s;
    }
    return files.writeFile("/boot/grub/grub.cfg",
                           grubMainConfig(info.root_fs_uuid, recipe.tdl.kernelparam));
}

Result<BaseImageInfo> DebianImageBuilder::build(const BaseImageRecipe& recipe, const fs::path& work,
                                                const fs::path& deb_cache, const fs::path& output) {
    std::error_code ec;
    fs::create_directories(work, ec);
    if (ec) {
        return internalError("cannot create " + work.string() + ": " + ec.message());
    }
    fs::path rootfs = work / "rootfs";
    progress_(1);
    if (Status s = runMmdebstrap(recipe, rootfs, work, deb_cache / recipe.release.codename); !s) {
        return s.error();
    }
    if (Status s = applyTemplate(recipe, rootfs); !s) {
        return s.error();
    }

    Result<uint64_t> root_bytes = estimateRootBytes(rootfs);
    if (!root_bytes) {
        return root_bytes.error();
    }
    Result<DiskLayout> layout = computeDiskLayout(recipe.disk_bytes, *root_bytes);
    if (!layout) {
        return layout.error();
    }
    BaseImageInfo info;
    info.layout = *layout;
    info.root_fs_uuid = newUuid();
    info.esp_volume_id = newUuid().substr(0, 8);
    info.codename = recipe.release.codename;
    if (Status s = applyHygiene(rootfs, info, recipe); !s) {
        return s.error();
    }
    progress_(78);

    logger_->info("assembling disk bytes={} root_offset={}", info.layout.disk_bytes,
                  info.layout.root.offsetBytes());
    AssemblyInput input{rootfs, info.layout, info.root_fs_uuid, info.esp_volume_id, work, output};
    if (Status s = assembleDisk(runner_, input); !s) {
        return s.error();
    }
    progress_(95);
    return info;
}

}  // namespace imagefactory
