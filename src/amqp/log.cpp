#include "amqp/log.hpp"

#include "core/logging.hpp"

namespace imagefactory::amqp {

std::shared_ptr<spdlog::logger> logger() {
    return componentLogger("amqp");
}

}  // namespace imagefactory::amqp
