#pragma once

#include <spdlog/spdlog.h>

#include <memory>

namespace imagefactory::amqp {

// The "amqp" component logger, created from the default logger on first use.
std::shared_ptr<spdlog::logger> logger();

}  // namespace imagefactory::amqp
