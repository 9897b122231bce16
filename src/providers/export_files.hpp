#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "build/job_context.hpp"
#include "core/error.hpp"

namespace imagefactory {

// File steps shared by the drivers that push by writing into a directory another program
// watches (a condor images folder, an oVirt export storage domain).

// Size of one read and write while copying an image. Cancellation and progress are checked
// between chunks, so an abort waits for at most one chunk.
inline constexpr size_t kCopyChunkBytes = 4 * 1024 * 1024;

// The format of a disk image file as QEMU names it, and the size of the disk it holds.
struct DiskImageInfo {
    std::string format;         // "qcow2" or "raw"
    uint64_t virtual_size = 0;  // bytes
};

// Reads the format and virtual size from the file's header: a qcow2 header (magic "QFI\xfb")
// stores the virtual size at offset 24; any other file is taken as raw, its size being the
// file size. Fails with NotFound when the file cannot be opened.
Result<DiskImageInfo> readDiskImageInfo(const std::filesystem::path& path);

// Copies source to destination, which must not exist yet, in chunks of kCopyChunkBytes.
// Holes in source (SEEK_HOLE) are not written, so a sparse raw image stays sparse. After each
// chunk it reports progress (the share of the file done, mapped onto [first_percent,
// last_percent]) and stops with Aborted when the job's token is cancelled.
// The copy is fsynced before this returns. On any failure the partial destination is removed.
Status copyImageFile(const std::filesystem::path& source, const std::filesystem::path& destination,
                     JobContext& context, int first_percent, int last_percent);

// Creates path (which must not exist) with content and fsyncs it.
Status writeNewFile(const std::filesystem::path& path, std::string_view content);

// Fsyncs a directory, so that the entries just created or renamed in it survive a crash.
Status syncDirectory(const std::filesystem::path& directory);

// Renames from to to, failing with InvalidState naming to when to already exists. Uses
// RENAME_NOREPLACE where the file system supports it. Elsewhere (NFS among them) it checks and
// then renames, so a name that someone else creates in between is replaced.
Status renameNoReplace(const std::filesystem::path& from, const std::filesystem::path& to);

// Checks that path is an existing directory the daemon can create files in. Errors name the
// path and the setting it came from.
Status checkWritableDirectory(const std::filesystem::path& path, std::string_view setting);

// True when name can be used as one file name component: not empty, no '/', no NUL, and not
// containing "..".
bool isPlainName(std::string_view name);

// The string setting key of a provider definition, fallback when it is absent. A value of
// another JSON type is a UserInput error naming the key.
Result<std::string> stringSetting(const nlohmann::json& settings, const std::string& key,
                                  const std::string& fallback);

// Rejects a setting key outside known (or the catalog's "name" and "target"), so that a
// misspelt optional setting does not silently fall back to its default.
Status checkSettingKeys(const nlohmann::json& settings, const std::string& target,
                        const std::vector<std::string>& known);

// Removes a file or folder tree when it goes out of scope unless release() was called: the
// clean-up of a push that failed or was aborted half way.
class RemoveOnExit {
  public:
    explicit RemoveOnExit(std::filesystem::path path) : path_(std::move(path)) {}
    RemoveOnExit(const RemoveOnExit&) = delete;
    RemoveOnExit& operator=(const RemoveOnExit&) = delete;
    ~RemoveOnExit();

    void release() { path_.clear(); }

  private:
    std::filesystem::path path_;
};

}  // namespace imagefactory
