#pragma once

#include <spdlog/spdlog.h>

#include <memory>

namespace imagefactory::amqp {

// The "amqp" component logger.
std::shared_ptr<spdlog::logger> logger();

}  // namespace imagefactory::amqp
