#pragma once

#include <filesystem>
#include <string>

#include "core/error.hpp"

namespace imagefactory {

// File names the store itself uses directly below the data directory.
inline constexpr const char* kDatabaseFileName = "imagefactory.db";
inline constexpr const char* kLockFileName = "lock";
inline constexpr const char* kTmpDirName = "tmp";

// Creates data_dir with mode 0700 (its missing parents with the default mode) when it does not
// exist. Fails with UserInput naming the path when data_dir is not a directory or the process
// cannot create files in it.
Status prepareDataDir(const std::filesystem::path& data_dir);

// Takes an exclusive flock on data_dir/lock and returns its descriptor, which keeps the lock
// until closed. Fails with InvalidState when another open store has locked it.
Result<int> lockDataDir(const std::filesystem::path& data_dir);

// Creates data_dir/tmp when missing and deletes everything inside it: files left by writes
// that a crash interrupted. Returns how many entries were removed.
Result<int> clearTmpDir(const std::filesystem::path& data_dir);

// Checks that relative names a place for an image body below the data directory: not empty,
// not absolute, no empty, "." or ".." component, no NUL byte, and not the database, the lock
// or the temporary directory. Fails with UserInput naming the path.
Status checkBodyPath(const std::string& relative);

// Syncs finished, moves it to data_dir/relative (creating missing directories, mode 0700) and
// syncs every directory it changed. Directories are opened without following symbolic links,
// so a link below data_dir cannot lead the file outside it. relative must pass
// checkBodyPath().
Result<std::filesystem::path> installBodyFile(const std::filesystem::path& data_dir,
                                              const std::filesystem::path& finished,
                                              const std::string& relative);

}  // namespace imagefactory
