#include "providers/export_files.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/scoped_fd.hpp"
#include "core/text.hpp"

namespace imagefactory {

namespace fs = std::filesystem;

namespace {

std::string errnoText(int error) {
    return std::strerror(error);
}

// Writes all of data, retrying short writes and EINTR.
bool writeAll(int fd, const char* data, size_t size) {
    while (size > 0) {
        ssize_t written = ::write(fd, data, size);
        if (written < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        data += written;
        size -= static_cast<size_t>(written);
    }
    return true;
}

// Writes all of data at offset, retrying short writes and EINTR.
bool writeAllAt(int fd, const char* data, size_t size, uint64_t offset) {
    while (size > 0) {
        ssize_t written = ::pwrite(fd, data, size, static_cast<off_t>(offset));
        if (written < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        data += written;
        size -= static_cast<size_t>(written);
        offset += static_cast<uint64_t>(written);
    }
    return true;
}

// A byte range of a file that contains data; holes around it read as zeros.
struct DataExtent {
    uint64_t begin = 0;
    uint64_t end = 0;
};

// The first data range at or after position. Holes are skipped so that a sparse raw image
// stays sparse in the copy. Where the file system cannot report holes, all of it is data.
DataExtent nextDataExtent(int fd, uint64_t position, uint64_t total) {
    off_t data = ::lseek(fd, static_cast<off_t>(position), SEEK_DATA);
    if (data < 0) {
        // ENXIO: nothing but a hole from position to the end of the file.
        return errno == ENXIO ? DataExtent{total, total} : DataExtent{position, total};
    }
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    uint64_t begin = static_cast<uint64_t>(data);
    uint64_t end = hole < 0 ? total : std::min<uint64_t>(static_cast<uint64_t>(hole), total);
    // A file that changed between the two calls may report an empty range: read on to the end.
    return {begin, end > begin ? end : total};
}

}  // namespace

RemoveOnExit::~RemoveOnExit() {
    if (!path_.empty()) {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
}

Result<DiskImageInfo> readDiskImageInfo(const fs::path& path) {
    ScopedFd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.get() < 0) {
        return notFound("cannot open target image file " + path.string() + ": " + errnoText(errno));
    }
    struct stat info {};
    if (::fstat(in.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
        return userError("target image file " + path.string() + " is not a regular file");
    }

    // qcow2 header: magic at 0, version at 4, virtual size (big-endian u64) at 24.
    unsigned char header[32] = {};
    ssize_t got = ::pread(in.get(), header, sizeof header, 0);
    if (got == static_cast<ssize_t>(sizeof header) && std::memcmp(header, "QFI\xfb", 4) == 0) {
        uint64_t size = 0;
        for (int i = 24; i < 32; ++i) {
            size = (size << 8) | header[i];
        }
        return DiskImageInfo{"qcow2", size};
    }
    return DiskImageInfo{"raw", static_cast<uint64_t>(info.st_size)};
}

Status copyImageFile(const fs::path& source, const fs::path& destination, JobContext& context,
                     int first_percent, int last_percent) {
    ScopedFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.get() < 0) {
        return notFound("cannot open target image file " + source.string() + ": " +
                        errnoText(errno));
    }
    struct stat info {};
    if (::fstat(in.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
        return userError("target image file " + source.string() + " is not a regular file");
    }

    // O_EXCL: an existing file at the destination belongs to someone else and stays untouched.
    ScopedFd out(::open(destination.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (out.get() < 0) {
        if (errno == EEXIST) {
            return invalidState(destination.string() + " already exists");
        }
        return toolFailure("cannot create " + destination.string() + ": " + errnoText(errno));
    }
    RemoveOnExit partial(destination);

    const auto total = static_cast<uint64_t>(info.st_size);
    const auto span = static_cast<uint64_t>(last_percent - first_percent);
    std::vector<char> buffer(kCopyChunkBytes);
    uint64_t position = 0;
    while (position < total) {
        if (context.cancelToken().cancelled()) {
            return Error{ErrorCode::Aborted, "aborted while copying to " + destination.string()};
        }
        DataExtent extent = nextDataExtent(in.get(), position, total);
        if (extent.begin >= total) {
            break;
        }
        size_t wanted =
            static_cast<size_t>(std::min<uint64_t>(buffer.size(), extent.end - extent.begin));
        ssize_t got = ::pread(in.get(), buffer.data(), wanted, static_cast<off_t>(extent.begin));
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            return toolFailure("cannot read " + source.string() + ": " + errnoText(errno));
        }
        if (got == 0) {
            return toolFailure(source.string() + " became shorter while it was copied (" +
                               std::to_string(extent.begin) + " of " + std::to_string(total) +
                               " bytes)");
        }
        if (!writeAllAt(out.get(), buffer.data(), static_cast<size_t>(got), extent.begin)) {
            return toolFailure("cannot write " + destination.string() + ": " + errnoText(errno));
        }
        position = extent.begin + static_cast<uint64_t>(got);
        context.setPercent(first_percent + static_cast<int>(span * position / total));
    }
    // Sets the size when the source ends in a hole, which no write above reached.
    if (::ftruncate(out.get(), static_cast<off_t>(total)) != 0) {
        return toolFailure("cannot set the size of " + destination.string() + ": " +
                           errnoText(errno));
    }

    // The copy must be on disk before a rename publishes it under its final name.
    if (::fsync(out.get()) != 0) {
        return toolFailure("cannot sync " + destination.string() + ": " + errnoText(errno));
    }
    partial.release();
    return okStatus();
}

Status writeNewFile(const fs::path& path, std::string_view content) {
    ScopedFd out(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (out.get() < 0) {
        if (errno == EEXIST) {
            return invalidState(path.string() + " already exists");
        }
        return toolFailure("cannot create " + path.string() + ": " + errnoText(errno));
    }
    RemoveOnExit partial(path);
    if (!writeAll(out.get(), content.data(), content.size())) {
        return toolFailure("cannot write " + path.string() + ": " + errnoText(errno));
    }
    if (::fsync(out.get()) != 0) {
        return toolFailure("cannot sync " + path.string() + ": " + errnoText(errno));
    }
    partial.release();
    return okStatus();
}

Status syncDirectory(const fs::path& directory) {
    ScopedFd dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0) {
        return toolFailure("cannot open directory " + directory.string() + ": " + errnoText(errno));
    }
    if (::fsync(dir.get()) != 0) {
        return toolFailure("cannot sync directory " + directory.string() + ": " + errnoText(errno));
    }
    return okStatus();
}

Status renameNoReplace(const fs::path& from, const fs::path& to) {
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
        return okStatus();
    }
    int error = errno;
    if (error == EEXIST) {
        return invalidState(to.string() + " already exists");
    }
    if (error == EXDEV) {
        return userError("cannot rename " + from.string() + " to " + to.string() +
                         ": they are on different file systems, so the staging folder must be "
                         "on the destination's file system");
    }
    if (error != EINVAL && error != ENOSYS) {
        return toolFailure("cannot rename " + from.string() + " to " + to.string() + ": " +
                           errnoText(error));
    }

    // The file system has no RENAME_NOREPLACE: check first, then rename.
    std::error_code ec;
    if (fs::exists(fs::symlink_status(to, ec))) {
        return invalidState(to.string() + " already exists");
    }
    if (::rename(from.c_str(), to.c_str()) != 0) {
        return toolFailure("cannot rename " + from.string() + " to " + to.string() + ": " +
                           errnoText(errno));
    }
    return okStatus();
}

Status checkWritableDirectory(const fs::path& path, std::string_view setting) {
    std::error_code ec;
    fs::file_status status = fs::status(path, ec);
    if (!fs::exists(status)) {
        return userError("directory " + path.string() + " (setting " + std::string(setting) +
                         ") does not exist; create it or change the provider definition");
    }
    if (!fs::is_directory(status)) {
        return userError(path.string() + " (setting " + std::string(setting) +
                         ") is not a directory");
    }
    if (::access(path.c_str(), W_OK | X_OK) != 0) {
        return userError("directory " + path.string() + " (setting " + std::string(setting) +
                         ") is not writable by the daemon: " + errnoText(errno));
    }
    return okStatus();
}

bool isPlainName(std::string_view name) {
    return !name.empty() && name.find('/') == std::string_view::npos &&
           name.find('\0') == std::string_view::npos && name.find("..") == std::string_view::npos;
}

Status checkSettingKeys(const nlohmann::json& settings, const std::string& target,
                        const std::vector<std::string>& known) {
    if (!settings.is_object()) {
        return okStatus();
    }
    for (const auto& item : settings.items()) {
        const std::string& key = item.key();
        if (key == "name" || key == "target" ||
            std::find(known.begin(), known.end(), key) != known.end()) {
            continue;
        }
        std::string list;
        for (const std::string& name : known) {
            list += (list.empty() ? "" : ", ") + name;
        }
        return userError("unknown " + target + " provider setting " + quoteValue(key) +
                         "; known settings: " + list);
    }
    return okStatus();
}

Result<std::string> stringSetting(const nlohmann::json& settings, const std::string& key,
                                  const std::string& fallback) {
    if (!settings.is_object()) {
        return fallback;
    }
    auto it = settings.find(key);
    if (it == settings.end() || it->is_null()) {
        return fallback;
    }
    if (!it->is_string()) {
        return userError("provider setting " + key + " must be a string, not " +
                         std::string(it->type_name()));
    }
    return it->get<std::string>();
}

}  // namespace imagefactory
