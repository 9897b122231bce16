#pragma once

#include <condition_variable>
#include <mutex>

#include "core/cancel.hpp"

namespace imagefactory {

// A counting semaphore whose wait ends early when a cancel token fires.
class SlotPool {
  public:
    explicit SlotPool(int slots) : free_(slots > 0 ? slots : 1) {}

    // Takes a slot, waiting while none is free. Returns false, without a slot, when token is
    // cancelled first.
    bool acquire(CancelToken& token);
    void release();

  private:
    std::mutex mutex_;
    std::condition_variable available_;
    int free_;
};

}  // namespace imagefactory
