#pragma once

#include <unistd.h>

namespace imagefactory {

// Owns a file descriptor and closes it when it goes out of scope (a negative value owns none).
class ScopedFd {
  public:
    explicit ScopedFd(int fd) : fd_(fd) {}
    ScopedFd(const ScopedFd&) = delete;
    ScopedFd& operator=(const ScopedFd&) = delete;
    ~ScopedFd() {
        if (fd_ >= 0) {
            close(fd_);
        }
    }

    int get() const { return fd_; }

    // Gives up ownership and returns the descriptor.
    int release() {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }

  private:
    int fd_;
};

}  // namespace imagefactory
