#include "store/data_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <system_error>
#include <vector>

namespace imagefactory {

namespace fs = std::filesystem;

namespace {

// Owns a file descriptor and closes it on destruction.
class UniqueFd {
  public:
    explicit UniqueFd(int fd) : fd_(fd) {}
    ~UniqueFd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        std::swap(fd_, other.fd_);
        return *this;
    }

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }

  private:
    int fd_;
};

std::string errnoText() {
    return std::strerror(errno);
}

// The names directly below the data directory that belong to the store itself.
constexpr std::array<std::string_view, 6> kReservedNames = {
    "imagefactory.db",
    "imagefactory.db-wal",
    "imagefactory.db-shm",
    "imagefactory.db-journal",
    "lock",
    "tmp",
};

std::vector<std::string> splitPath(const std::string& relative) {
    std::vector<std::string> components;
    size_t start = 0;
    while (true) {
        size_t slash = relative.find('/', start);
        components.push_back(relative.substr(start, slash - start));
        if (slash == std::string::npos) {
            break;
        }
        start = slash + 1;
    }
    return components;
}

}  // namespace

Status prepareDataDir(const fs::path& data_dir) {
    std::error_code ec;
    fs::file_status status = fs::status(data_dir, ec);
    if (fs::exists(status)) {
        if (!fs::is_directory(status)) {
            return userError("data directory " + data_dir.string() +
                             " is not a directory; give the path of a directory");
        }
    } else {
        if (data_dir.has_parent_path()) {
            fs::create_directories(data_dir.parent_path(), ec);
            if (ec) {
                return userError("cannot create data directory " + data_dir.string() + ": " +
                                 ec.message());
            }
        }
        if (::mkdir(data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
            return userError("cannot create data directory " + data_dir.string() + ": " +
                             errnoText());
        }
        // mkdir applies the umask; the metadata and image bodies are for this user only.
        ::chmod(data_dir.c_str(), 0700);
    }

    if (::access(data_dir.c_str(), W_OK | X_OK) != 0) {
        return userError("data directory " + data_dir.string() +
                         " is not writable: " + errnoText());
    }
    return okStatus();
}

Result<int> lockDataDir(const fs::path& data_dir) {
    fs::path lock_path = data_dir / kLockFileName;
    int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return internalError("cannot open lock file " + lock_path.string() + ": " + errnoText());
    }
    // flock belongs to the open file description, so the kernel drops it when the process
    // dies, however it dies, and a second open in this process conflicts as well.
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int saved = errno;
        ::close(fd);
        if (saved == EWOULDBLOCK) {
            return invalidState("data directory " + data_dir.string() +
                                " is in use by another image store (" + lock_path.string() +
                                " is locked); stop it first");
        }
        return internalError("cannot lock " + lock_path.string() + ": " + std::strerror(saved));
    }
    return fd;
}

Result<int> clearTmpDir(const fs::path& data_dir) {
    fs::path tmp = data_dir / kTmpDirName;
    std::error_code ec;
    fs::file_status status = fs::symlink_status(tmp, ec);
    if (!fs::exists(status)) {
        if (::mkdir(tmp.c_str(), 0700) != 0) {
            return internalError("cannot create " + tmp.string() + ": " + errnoText());
        }
        return 0;
    }
    // A symbolic link is refused too: clearing it would delete files outside the data directory.
    if (!fs::is_directory(status)) {
        return userError(tmp.string() + " is not a directory; remove it so the store can use it " +
                         "for temporary files");
    }

    // The error_code overloads report failures as values, so clearing does not throw.
    int removed = 0;
    fs::directory_iterator entry(tmp, ec);
    for (; !ec && entry != fs::directory_iterator(); entry.increment(ec)) {
        std::error_code remove_ec;
        fs::remove_all(entry->path(), remove_ec);
        if (remove_ec) {
            return internalError("cannot remove leftover temporary file " + entry->path().string() +
                                 ": " + remove_ec.message());
        }
        ++removed;
    }
    if (ec) {
        return internalError("cannot list " + tmp.string() + ": " + ec.message());
    }
    return removed;
}

Status checkBodyPath(const std::string& relative) {
    if (relative.empty()) {
        return userError("image body path is empty; give a path relative to the data directory");
    }
    if (relative.find('\0') != std::string::npos) {
        return userError("image body path \"" + relative + "\" contains a NUL byte");
    }
    if (relative.front() == '/') {
        return userError("image body path \"" + relative +
                         "\" is absolute; give a path relative to the data directory");
    }
    std::vector<std::string> components = splitPath(relative);
    for (const std::string& component : components) {
        if (component.empty() || component == "." || component == "..") {
            return userError("image body path \"" + relative +
                             "\" has an empty, \".\" or \"..\" component; give a plain path " +
                             "below the data directory");
        }
    }
    for (std::string_view reserved : kReservedNames) {
        if (components.front() == reserved) {
            return userError("image body path \"" + relative + "\" is reserved for the store's " +
                             std::string(reserved));
        }
    }
    return okStatus();
}

Result<fs::path> installBodyFile(const fs::path& data_dir, const fs::path& finished,
                                 const std::string& relative) {
    Status checked = checkBodyPath(relative);
    if (!checked.ok()) {
        return checked.error();
    }

    // The data must be on disk before the rename makes it visible under its final name.
    // Otherwise a power loss could leave the final name pointing at a short file.
    {
        UniqueFd file(::open(finished.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
        if (!file.valid()) {
            return userError("cannot open finished file " + finished.string() + ": " + errnoText());
        }
        struct stat info {};
        if (::fstat(file.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
            return userError("finished file " + finished.string() + " is not a regular file");
        }
        if (::fsync(file.get()) != 0) {
            return internalError("cannot sync " + finished.string() + ": " + errnoText());
        }
    }

    UniqueFd dir(::open(data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir.valid()) {
        return internalError("cannot open data directory " + data_dir.string() + ": " +
                             errnoText());
    }

    std::vector<std::string> components = splitPath(relative);
    for (size_t i = 0; i + 1 < components.size(); ++i) {
        const char* name = components[i].c_str();
        if (::mkdirat(dir.get(), name, 0700) == 0) {
            // The new entry in the parent must be durable before anything inside it is.
            if (::fsync(dir.get()) != 0) {
                return internalError("cannot sync a directory of " + relative + ": " + errnoText());
            }
        } else if (errno != EEXIST) {
            return internalError("cannot create the directories of image body path \"" + relative +
                                 "\" below " + data_dir.string() + ": " + errnoText());
        }
        // O_NOFOLLOW: a symbolic link placed below the data directory must not redirect the
        // file to somewhere outside it.
        UniqueFd next(::openat(dir.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!next.valid()) {
            if (errno == ELOOP || errno == ENOTDIR) {
                return userError("image body path \"" + relative + "\" passes through \"" +
                                 components[i] + "\", which is a symbolic link or not a directory");
            }
            return internalError("cannot open a directory of image body path \"" + relative +
                                 "\": " + errnoText());
        }
        dir = std::move(next);
    }

    if (::renameat(AT_FDCWD, finished.c_str(), dir.get(), components.back().c_str()) != 0) {
        if (errno == EXDEV) {
            return userError("finished file " + finished.string() +
                             " is on another file system than the data directory " +
                             data_dir.string() + "; write it below the store's tmp directory");
        }
        return internalError("cannot move " + finished.string() + " to image body path \"" +
                             relative + "\": " + errnoText());
    }
    if (::fsync(dir.get()) != 0) {
        return internalError("cannot sync the directory of " + relative + ": " + errnoText());
    }
    return data_dir / relative;
}

}  // namespace imagefactory
