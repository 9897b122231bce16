#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace imagefactory {

// File access inside an unpacked guest root directory, resolved as the guest would see it:
// absolute symlinks and ".." stay inside root (openat2 with RESOLVE_IN_ROOT), so a template or a
// package cannot make the factory write outside the image.
class RootfsFiles {
  public:
    explicit RootfsFiles(std::filesystem::path root) : root_(std::move(root)) {}

    // Writes content to guest_path (absolute), creating missing parent folders (mode 0755,
    // root-owned) and replacing an existing file. A symlink at guest_path is followed inside
    // the root. Errors: UserInput for a relative path, Internal for a failed system call.
    Status writeFile(std::string_view guest_path, std::string_view content, int mode = 0644) const;

    // The content of guest_path, NotFound when it does not exist.
    Result<std::string> readFile(std::string_view guest_path) const;

    bool exists(std::string_view guest_path) const;

    // Removes guest_path itself (a symlink is removed, not followed); no error when it is absent.
    Status remove(std::string_view guest_path) const;

    // Creates guest_path and its parents as folders.
    Status makeDirectories(std::string_view guest_path) const;

    // Creates (or replaces) a symlink at guest_path pointing to target (not resolved).
    Status makeSymlink(std::string_view guest_path, std::string_view target) const;

    const std::filesystem::path& root() const { return root_; }

  private:
    Result<int> openParent(std::string_view guest_path, std::string& leaf, bool create) const;

    std::filesystem::path root_;
};

// Sets root's password hash in the text of /etc/shadow; an empty hash locks the account ("!").
// Returns UserInput when the text has no root entry.
Result<std::string> setShadowRootHash(std::string_view shadow, std::string_view hash);

}  // namespace imagefactory
