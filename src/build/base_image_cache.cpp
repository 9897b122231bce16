#include "build/base_image_cache.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "build/digest.hpp"
#include "core/uuid.hpp"

namespace imagefactory {

namespace {

namespace fs = std::filesystem;

class FileLock {
  public:
    explicit FileLock(int fd) : fd_(fd) {}
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;
    ~FileLock() {
        if (fd_ >= 0) {
            flock(fd_, LOCK_UN);
            close(fd_);
        }
    }

  private:
    int fd_;
};

Result<std::string> readText(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return notFound(path.string() + " does not exist");
    }
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

BaseImageCache::BaseImageCache(fs::path dir) : dir_(std::move(dir)) {}

Result<std::string> BaseImageCache::keyFor(std::string_view canonical_text) const {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) {
        return internalError("cannot create " + dir_.string() + ": " + ec.message());
    }
    fs::path key_file = dir_ / ".key";
    Result<std::string> secret = readText(key_file);
    if (!secret || secret->size() != 64) {
        // 64 random hex digits (the first 8 of a v4 UUID are all random), written under a
        // temporary name and linked in place so that two first users agree on one key.
        std::string fresh;
        for (int i = 0; i < 8; ++i) {
            fresh += newUuid().substr(0, 8);
        }
        fs::path temp = dir_ / (".key." + newUuid());
        {
            std::ofstream out(temp, std::ios::binary);
            out << fresh;
        }
        fs::permissions(temp, fs::perms::owner_read | fs::perms::owner_write, ec);
        if (link(temp.c_str(), key_file.c_str()) != 0 && errno != EEXIST) {
            fs::remove(temp, ec);
            return internalError("cannot create " + key_file.string() + ": " +
                                 std::strerror(errno));
        }
        fs::remove(temp, ec);
        secret = readText(key_file);
        if (!secret) {
            return secret.error();
        }
    }
    return hmacSha256Hex(*secret, canonical_text);
}

Result<BaseImageCache::Entry> BaseImageCache::load(const std::string& key) const {
    fs::path folder = dir_ / key;
    Result<std::string> record = readText(folder / "info.json");
    if (!record) {
        return record.error();
    }
    Result<BaseImageInfo> info = baseImageInfoFromJson(*record);
    if (!info) {
        return info.error();
    }
    if (!fs::is_regular_file(folder / "disk.raw")) {
        return notFound("base image " + key + " has no disk.raw");
    }
    return Entry{folder / "disk.raw", *info, true};
}

Result<BaseImageCache::Entry> BaseImageCache::getOrBuild(const std::string& key,
                                                         const fs::path& staging,
                                                         CancelToken& token,
                                                         const BuildFn& build) const {
    if (key.empty() || key.find_first_not_of("0123456789abcdef") != std::string::npos) {
        return internalError("base image key '" + key + "' is not a hex digest");
    }
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (Result<Entry> cached = load(key)) {
        return cached;
    }

    // An flock is held per open file description, so it also excludes other threads of this
    // process. Polling keeps the wait abortable.
    fs::path lock_path = dir_ / (key + ".lock");
    int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return internalError("cannot open " + lock_path.string() + ": " + std::strerror(errno));
    }
    FileLock lock(fd);
    while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            return internalError("cannot lock " + lock_path.string() + ": " + std::strerror(errno));
        }
        if (token.cancelled()) {
            return Error{ErrorCode::Aborted, "aborted while waiting for base image " + key};
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (Result<Entry> cached = load(key)) {
        return cached;
    }

    fs::create_directories(staging, ec);
    if (ec) {
        return internalError("cannot create " + staging.string() + ": " + ec.message());
    }
    Result<BaseImageInfo> info = build(staging / "disk.raw");
    if (!info) {
        return info.error();
    }
    {
        std::ofstream out(staging / "info.json", std::ios::binary);
        out << toJson(*info);
        if (!out) {
            return internalError("cannot write " + (staging / "info.json").string());
        }
    }
    fs::path final_dir = dir_ / key;
    fs::rename(staging, final_dir, ec);
    if (ec) {
        return internalError("cannot install base image " + key + " into " + dir_.string() + ": " +
                             ec.message());
    }
    return Entry{final_dir / "disk.raw", *info, false};
}

}  // namespace imagefactory
