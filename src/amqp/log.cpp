#include "amqp/log.hpp"

#include <mutex>

namespace imagefactory::amqp {

std::shared_ptr<spdlog::logger> logger() {
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    auto existing = spdlog::get("amqp");
    if (existing) {
        return existing;
    }
    auto created = spdlog::default_logger()->clone("amqp");
    spdlog::register_logger(created);
    return created;
}

}  // namespace imagefactory::amqp
