#include "build/disk_assembler.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "core/scoped_fd.hpp"

namespace imagefactory {

namespace {

namespace fs = std::filesystem;

std::string errnoText(const std::string& what, const fs::path& path) {
    return what + " " + path.string() + ": " + std::strerror(errno);
}

bool allZero(const char* data, size_t size) {
    for (size_t i = 0; i < size; ++i) {
        if (data[i] != 0) {
            return false;
        }
    }
    return true;
}

Status writeTextFile(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
        return internalError("cannot write " + path.string());
    }
    return okStatus();
}

Status runTool(const ProcessRunner& runner, std::vector<std::string> argv,
               std::string stdin_data = {}) {
    ProcessSpec spec{.argv = std::move(argv)};
    spec.stdin_data = std::move(stdin_data);
    spec.timeout = std::chrono::minutes(20);
    Result<ProcessResult> result = runner.runChecked(spec);
    if (!result) {
        return result.error();
    }
    return okStatus();
}

Status makeEsp(const ProcessRunner& runner, const AssemblyInput& input,
               const BootLoaderFiles& files, const fs::path& stage1) {
    fs::path esp = input.work / "esp.img";
    { std::ofstream create(esp, std::ios::binary | std::ios::trunc); }
    std::error_code ec;
    fs::resize_file(esp, input.layout.esp.sizeBytes(), ec);
    if (ec) {
        return internalError("cannot size " + esp.string() + ": " + ec.message());
    }
    if (Status s = runTool(runner, {"mkfs.vfat", "-F", "32", "-i", input.esp_volume_id, "-n", "ESP",
                                    esp.string()});
        !s) {
        return s;
    }
    fs::path shim = input.rootfs / files.shim;
    fs::path grub = input.rootfs / files.grub_efi;
    for (const fs::path& needed : {shim, grub}) {
        if (!fs::is_regular_file(needed)) {
            return toolFailure("the guest has no " + needed.string() +
                               "; shim-signed and grub-efi-amd64-signed must be installed");
        }
    }
    std::string image = esp.string();
    if (Status s = runTool(runner, {"mmd", "-i", image, "::/EFI", "::/EFI/BOOT", "::/EFI/debian"});
        !s) {
        return s;
    }
    // shim loads grubx64.efi from its own folder, and the signed GRUB reads grub.cfg from the
    // folder it was loaded from ($cmdpath), so both folders get the stage-1 configuration.
    std::vector<std::pair<fs::path, std::string>> copies = {
        {shim, "::/EFI/BOOT/BOOTX64.EFI"},   {grub, "::/EFI/BOOT/grubx64.efi"},
        {stage1, "::/EFI/BOOT/grub.cfg"},    {shim, "::/EFI/debian/shimx64.efi"},
        {grub, "::/EFI/debian/grubx64.efi"}, {stage1, "::/EFI/debian/grub.cfg"},
    };
    for (const auto& [from, to] : copies) {
        if (Status s = runTool(runner, {"mcopy", "-i", image, from.string(), to}); !s) {
            return s;
        }
    }
    return copyIntoAt(esp, input.output, input.layout.esp.offsetBytes());
}

Status installBiosGrub(const ProcessRunner& runner, const AssemblyInput& input,
                       const BootLoaderFiles& files, const fs::path& stage1) {
    // grub-bios-setup cannot target an image file (it probes the host's root device), so the
    // two stages are written and patched here, as grub-setup would.
    fs::path core = input.work / "core.img";
    if (Status s = runTool(runner, {"grub-mkimage",
                                    "-d",
                                    files.grub_pc_dir.string(),
                                    "-O",
                                    "i386-pc",
                                    "-o",
                                    core.string(),
                                    "-c",
                                    stage1.string(),
                                    "-p",
                                    "/boot/grub",
                                    "biosdisk",
                                    "part_gpt",
                                    "ext2",
                                    "search",
                                    "search_fs_uuid",
                                    "configfile",
                                    "linux",
                                    "normal",
                                    "serial",
                                    "terminal",
                                    "echo",
                                    "test"});
        !s) {
        return s;
    }
    Result<std::vector<uint8_t>> core_bytes = readBinaryFile(core);
    if (!core_bytes) {
        return core_bytes.error();
    }
    if (core_bytes->size() > input.layout.bios.sizeBytes()) {
        return toolFailure("GRUB core.img has " + std::to_string(core_bytes->size()) +
                           " bytes and does not fit the BIOS boot partition");
    }
    if (Status s = patchCoreImage(*core_bytes, input.layout.bios.start_sector); !s) {
        return s;
    }
    if (Status s = writeAt(input.output, input.layout.bios.offsetBytes(), core_bytes->data(),
                           core_bytes->size());
        !s) {
        return s;
    }

    Result<std::vector<uint8_t>> boot_img = readBinaryFile(files.grub_pc_dir / "boot.img");
    if (!boot_img) {
        return boot_img.error();
    }
    std::array<uint8_t, 512> mbr{};
    {
        ScopedFd fd(open(input.output.c_str(), O_RDONLY | O_CLOEXEC));
        if (fd.get() < 0 || pread(fd.get(), mbr.data(), mbr.size(), 0) != 512) {
            return internalError(errnoText("cannot read the MBR of", input.output));
        }
    }
    if (Status s = patchBootSector(mbr, *boot_img, input.layout.bios.start_sector); !s) {
        return s;
    }
    return writeAt(input.output, 0, mbr.data(), mbr.size());
}

}  // namespace

std::string grubStage1Config(const std::string& root_fs_uuid) {
    return "search --no-floppy --fs-uuid --set=root " + root_fs_uuid +
           "\nset prefix=($root)/boot/grub\nconfigfile $prefix/grub.cfg\n";
}

std::string grubMainConfig(const std::string& root_fs_uuid, const std::string& kernel_parameters) {
    std::string extra = kernel_parameters.empty() ? "" : " " + kernel_parameters;
    return "set timeout=1\n"
           "serial --unit=0 --speed=115200\n"
           "terminal_input serial console\n"
           "terminal_output serial console\n"
           "menuentry 'Debian GNU/Linux' {\n"
           "  search --no-floppy --fs-uuid --set=root " +
           root_fs_uuid +
           "\n"
           "  linux /vmlinuz root=UUID=" +
           root_fs_uuid + " ro console=tty0 console=ttyS0,115200n8" + extra +
           "\n"
           "  initrd /initrd.img\n"
           "}\n";
}

Result<std::vector<uint8_t>> readBinaryFile(const fs::path& path, size_t max_bytes) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return notFound(errnoText("cannot open", path));
    }
    std::vector<uint8_t> bytes;
    char buffer[65536];
    while (in) {
        in.read(buffer, sizeof buffer);
        bytes.insert(bytes.end(), buffer, buffer + in.gcount());
        if (bytes.size() > max_bytes) {
            return userError(path.string() + " is larger than " + std::to_string(max_bytes) +
                             " bytes");
        }
    }
    return bytes;
}

Result<std::vector<uint8_t>> readAt(const fs::path& path, uint64_t offset, size_t size) {
    ScopedFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        return notFound(errnoText("cannot open", path));
    }
    std::vector<uint8_t> bytes(size);
    size_t done = 0;
    while (done < size) {
        ssize_t n =
            pread(fd.get(), bytes.data() + done, size - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return internalError(errnoText("cannot read", path));
        }
        if (n == 0) {
            return toolFailure(path.string() + " ends before byte " +
                               std::to_string(offset + size));
        }
        done += static_cast<size_t>(n);
    }
    return bytes;
}

Status writeAt(const fs::path& target, uint64_t offset, const void* data, size_t size) {
    ScopedFd fd(open(target.c_str(), O_WRONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        return internalError(errnoText("cannot open", target));
    }
    const char* bytes = static_cast<const char*>(data);
    size_t done = 0;
    while (done < size) {
        ssize_t n = pwrite(fd.get(), bytes + done, size - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return internalError(errnoText("cannot write", target));
        }
        done += static_cast<size_t>(n);
    }
    return okStatus();
}

Status copyIntoAt(const fs::path& source, const fs::path& target, uint64_t offset) {
    ScopedFd in(open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.get() < 0) {
        return internalError(errnoText("cannot open", source));
    }
    ScopedFd out(open(target.c_str(), O_WRONLY | O_CLOEXEC));
    if (out.get() < 0) {
        return internalError(errnoText("cannot open", target));
    }
    off_t end = lseek(in.get(), 0, SEEK_END);
    std::vector<char> buffer(1 << 20);
    off_t position = 0;
    while (position < end) {
        off_t data = lseek(in.get(), position, SEEK_DATA);
        if (data < 0) {
            break;  // only a hole remains
        }
        off_t hole = lseek(in.get(), data, SEEK_HOLE);
        for (off_t at = data; at < hole;) {
            size_t want = static_cast<size_t>(std::min<off_t>(hole - at, buffer.size()));
            ssize_t n = pread(in.get(), buffer.data(), want, at);
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                return internalError(errnoText("cannot read", source));
            }
            if (!allZero(buffer.data(), static_cast<size_t>(n))) {
                size_t written = 0;
                while (written < static_cast<size_t>(n)) {
                    ssize_t w = pwrite(out.get(), buffer.data() + written, n - written,
                                       static_cast<off_t>(offset) + at + written);
                    if (w < 0 && errno == EINTR) {
                        continue;
                    }
                    if (w <= 0) {
                        return internalError(errnoText("cannot write", target));
                    }
                    written += static_cast<size_t>(w);
                }
            }
            at += n;
        }
        position = hole;
    }
    return okStatus();
}

Status assembleDisk(const ProcessRunner& runner, const AssemblyInput& input,
                    const BootLoaderFiles& files) {
    const DiskLayout& layout = input.layout;
    {
        std::ofstream create(input.output, std::ios::binary | std::ios::trunc);
        if (!create) {
            return internalError(errnoText("cannot create", input.output));
        }
    }
    std::error_code ec;
    fs::resize_file(input.output, layout.disk_bytes, ec);
    if (ec) {
        return internalError("cannot size " + input.output.string() + ": " + ec.message());
    }
    if (Status s = runTool(
            runner, {"sfdisk", "-q", "--no-reread", "--no-tell-kernel", input.output.string()},
            sfdiskScript(layout));
        !s) {
        return s;
    }

    fs::path stage1 = input.work / "grub-stage1.cfg";
    if (Status s = writeTextFile(stage1, grubStage1Config(input.root_fs_uuid)); !s) {
        return s;
    }
    // The root file system is written straight into its partition: no separate file, no copy.
    if (Status s = runTool(
            runner, {"mke2fs", "-q", "-t", "ext4", "-F", "-d", input.rootfs.string(), "-U",
                     input.root_fs_uuid, "-L", "rootfs", "-E",
                     "offset=" + std::to_string(layout.root.offsetBytes()), input.output.string(),
                     std::to_string(layout.root.sizeBytes() / 1024) + "k"});
        !s) {
        return s;
    }
    if (Status s = makeEsp(runner, input, files, stage1); !s) {
        return s;
    }
    return installBiosGrub(runner, input, files, stage1);
}

}  // namespace imagefactory
