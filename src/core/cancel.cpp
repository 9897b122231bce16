#include "core/cancel.hpp"

#include <vector>

namespace imagefactory {

bool CancelToken::cancel() {
    std::vector<std::function<void()>> to_run;
    {
        std::lock_guard lock(mutex_);
        if (cancelled_.exchange(true)) {
            return false;
        }
        for (auto& [id, fn] : callbacks_) {
            to_run.push_back(std::move(fn));
        }
        callbacks_.clear();
    }
    // Run outside the lock: a callback may itself touch the token.
    for (auto& fn : to_run) {
        fn();
    }
    return true;
}

CancelToken::CallbackId CancelToken::onCancel(std::function<void()> fn) {
    {
        std::lock_guard lock(mutex_);
        if (!cancelled_.load()) {
            CallbackId id = next_id_++;
            callbacks_.emplace(id, std::move(fn));
            return id;
        }
    }
    fn();
    return 0;
}

void CancelToken::removeCallback(CallbackId id) {
    std::lock_guard lock(mutex_);
    callbacks_.erase(id);
}

}  // namespace imagefactory
