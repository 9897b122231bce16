#include "jobs/slot_pool.hpp"

namespace imagefactory {

bool SlotPool::acquire(CancelToken& token) {
    // The callback takes the mutex before notifying, so a cancel between the predicate check
    // and the wait cannot be missed.
    auto callback = token.onCancel([this] {
        std::lock_guard lock(mutex_);
        available_.notify_all();
    });

    bool acquired = false;
    {
        std::unique_lock lock(mutex_);
        available_.wait(lock, [&] { return free_ > 0 || token.cancelled(); });
        if (!token.cancelled()) {
            --free_;
            acquired = true;
        }
    }
    token.removeCallback(callback);
    return acquired;
}

void SlotPool::release() {
    std::lock_guard lock(mutex_);
    ++free_;
    available_.notify_one();
}

}  // namespace imagefactory
