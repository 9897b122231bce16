#include "build/rootfs_files.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/scoped_fd.hpp"

namespace imagefactory {

namespace {

int openInRoot(int root_fd, const std::string& relative, int flags, mode_t mode = 0) {
    open_how how{};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.mode = (flags & O_CREAT) != 0 ? mode : 0;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    const char* path = relative.empty() ? "." : relative.c_str();
    return static_cast<int>(syscall(SYS_openat2, root_fd, path, &how, sizeof how));
}

std::string systemError(const std::string& what, std::string_view guest_path) {
    return what + " " + std::string(guest_path) + " in the image: " + std::strerror(errno);
}

// The path's components, with "." and empty parts dropped. ".." is kept and resolved by the
// kernel, which clamps it at the root.
std::vector<std::string> components(std::string_view path) {
    std::vector<std::string> parts;
    size_t pos = 0;
    while (pos <= path.size()) {
        size_t next = path.find('/', pos);
        if (next == std::string_view::npos) {
            next = path.size();
        }
        std::string_view part = path.substr(pos, next - pos);
        if (!part.empty() && part != ".") {
            parts.emplace_back(part);
        }
        pos = next + 1;
    }
    return parts;
}

std::string join(const std::vector<std::string>& parts, size_t count) {
    std::string joined;
    for (size_t i = 0; i < count && i < parts.size(); ++i) {
        joined += (i == 0 ? "" : "/") + parts[i];
    }
    return joined;
}

}  // namespace

Result<int> RootfsFiles::openParent(std::string_view guest_path, std::string& leaf,
                                    bool create) const {
    if (guest_path.empty() || guest_path.front() != '/') {
        return userError("path '" + std::string(guest_path) + "' is not absolute");
    }
    std::vector<std::string> parts = components(guest_path);
    if (parts.empty() || parts.back() == "..") {
        return userError("path '" + std::string(guest_path) + "' does not name a file");
    }
    ScopedFd root_fd(open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (root_fd.get() < 0) {
        return internalError("cannot open image root " + root_.string() + ": " +
                             std::strerror(errno));
    }
    // Each prefix is resolved from the root again, so a symlink met on the way is followed with
    // the guest's view of "/" rather than the host's.
    for (size_t i = 1; i < parts.size(); ++i) {
        std::string prefix = join(parts, i);
        ScopedFd dir(openInRoot(root_fd.get(), prefix, O_PATH | O_DIRECTORY));
        if (dir.get() >= 0) {
            continue;
        }
        if (errno != ENOENT || !create) {
            return Error{errno == ENOENT ? ErrorCode::NotFound : ErrorCode::Internal,
                         systemError("cannot open folder", "/" + prefix)};
        }
        ScopedFd parent(openInRoot(root_fd.get(), join(parts, i - 1), O_PATH | O_DIRECTORY));
        if (parent.get() < 0) {
            return internalError(systemError("cannot open folder", "/" + join(parts, i - 1)));
        }
        if (mkdirat(parent.get(), parts[i - 1].c_str(), 0755) != 0 && errno != EEXIST) {
            return internalError(systemError("cannot create folder", "/" + prefix));
        }
    }
    int parent = openInRoot(root_fd.get(), join(parts, parts.size() - 1), O_PATH | O_DIRECTORY);
    if (parent < 0) {
        return Error{errno == ENOENT ? ErrorCode::NotFound : ErrorCode::Internal,
                     systemError("cannot open the folder of", guest_path)};
    }
    leaf = parts.back();
    return parent;
}

Status RootfsFiles::writeFile(std::string_view guest_path, std::string_view content,
                              int mode) const {
    std::string leaf;
    Result<int> parent = openParent(guest_path, leaf, true);
    if (!parent) {
        return parent.error();
    }
    close(*parent);
    ScopedFd root_fd(open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    // The whole path is resolved from the root again, so a symlink at the leaf (such as
    // /etc/resolv.conf) is followed with the guest's view of "/" and cannot leave the image.
    ScopedFd file(openInRoot(root_fd.get(), join(components(guest_path), SIZE_MAX),
                             O_WRONLY | O_CREAT | O_TRUNC, static_cast<mode_t>(mode)));
    if (file.get() < 0) {
        return internalError(systemError("cannot write", guest_path));
    }
    size_t written = 0;
    while (written < content.size()) {
        ssize_t n = write(file.get(), content.data() + written, content.size() - written);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return internalError(systemError("cannot write", guest_path));
        }
        written += static_cast<size_t>(n);
    }
    return okStatus();
}

Result<std::string> RootfsFiles::readFile(std::string_view guest_path) const {
    std::string leaf;
    Result<int> parent = openParent(guest_path, leaf, false);
    if (!parent) {
        return parent.error();
    }
    close(*parent);
    ScopedFd root_fd(open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ScopedFd file(openInRoot(root_fd.get(), join(components(guest_path), SIZE_MAX), O_RDONLY));
    if (file.get() < 0) {
        if (errno == ENOENT) {
            return notFound(std::string(guest_path) + " does not exist in the image");
        }
        return internalError(systemError("cannot read", guest_path));
    }
    std::string content;
    char buffer[65536];
    while (true) {
        ssize_t n = read(file.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return internalError(systemError("cannot read", guest_path));
        }
        if (n == 0) {
            break;
        }
        content.append(buffer, static_cast<size_t>(n));
    }
    return content;
}

bool RootfsFiles::exists(std::string_view guest_path) const {
    std::string leaf;
    Result<int> parent = openParent(guest_path, leaf, false);
    if (!parent) {
        return false;
    }
    ScopedFd parent_fd(*parent);
    struct stat info {};
    return fstatat(parent_fd.get(), leaf.c_str(), &info, AT_SYMLINK_NOFOLLOW) == 0;
}

Status RootfsFiles::remove(std::string_view guest_path) const {
    std::string leaf;
    Result<int> parent = openParent(guest_path, leaf, false);
    if (!parent) {
        return parent.error().code == ErrorCode::NotFound ? okStatus() : Status(parent.error());
    }
    ScopedFd parent_fd(*parent);
    if (unlinkat(parent_fd.get(), leaf.c_str(), 0) != 0 && errno != ENOENT) {
        return internalError(systemError("cannot remove", guest_path));
    }
    return okStatus();
}

Status RootfsFiles::makeDirectories(std::string_view guest_path) const {
    std::string leaf;
    Result<int> parent = openParent(guest_path, leaf, true);
    if (!parent) {
        return parent.error();
    }
    ScopedFd parent_fd(*parent);
    if (mkdirat(parent_fd.get(), leaf.c_str(), 0755) != 0 && errno != EEXIST) {
        return internalError(systemError("cannot create folder", guest_path));
    }
    return okStatus();
}

Status RootfsFiles::makeSymlink(std::string_view guest_path, std::string_view target) const {
    std::string leaf;
    Result<int> parent = openParent(guest_path, leaf, true);
    if (!parent) {
        return parent.error();
    }
    ScopedFd parent_fd(*parent);
    unlinkat(parent_fd.get(), leaf.c_str(), 0);
    if (symlinkat(std::string(target).c_str(), parent_fd.get(), leaf.c_str()) != 0) {
        return internalError(systemError("cannot create symlink", guest_path));
    }
    return okStatus();
}

Result<std::string> setShadowRootHash(std::string_view shadow, std::string_view hash) {
    std::string output;
    bool found = false;
    size_t pos = 0;
    while (pos < shadow.size()) {
        size_t end = shadow.find('\n', pos);
        std::string_view line =
            shadow.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
        pos = end == std::string_view::npos ? shadow.size() : end + 1;
        if (line.substr(0, 5) == "root:") {
            size_t second = line.find(':', 5);
            std::string_view rest =
                second == std::string_view::npos ? std::string_view() : line.substr(second);
            output += "root:" + std::string(hash.empty() ? "!" : hash) + std::string(rest);
            found = true;
        } else {
            output += line;
        }
        output += '\n';
    }
    if (!found) {
        return userError("/etc/shadow in the image has no root entry");
    }
    return output;
}

}  // namespace imagefactory
