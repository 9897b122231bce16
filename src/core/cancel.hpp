#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>

namespace imagefactory {

// A one-way abort flag shared by a job and everything it runs. Code that starts a subprocess
// registers a callback that kills its process group; cancel() runs every callback once, on the
// calling thread, and callbacks registered later run at once.
class CancelToken {
  public:
    using CallbackId = uint64_t;

    bool cancelled() const { return cancelled_.load(); }

    // Runs every registered callback. Returns false when the token was already cancelled.
    bool cancel();

    // Registers fn; runs it immediately (and returns 0) when the token is already cancelled.
    CallbackId onCancel(std::function<void()> fn);
    void removeCallback(CallbackId id);

  private:
    std::atomic<bool> cancelled_{false};
    std::mutex mutex_;
    CallbackId next_id_ = 1;
    std::map<CallbackId, std::function<void()>> callbacks_;
};

}  // namespace imagefactory
