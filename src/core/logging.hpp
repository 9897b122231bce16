#pragma once

#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>
#include <string>

namespace imagefactory {

// Sends every component logger to stderr (or to log_file when it is not empty) at the given
// level. Call once at start-up, before other threads start; until then loggers write to stderr
// at warning level.
void configureLogging(spdlog::level::level_enum level, const std::filesystem::path& log_file = {});

// The logger of one component (amqp, qmf, job, tool, store, daemon, ...), created on first use
// with the sinks configureLogging() set up. Safe from any thread.
std::shared_ptr<spdlog::logger> componentLogger(const std::string& component);

// A logger for one job: lines go to the component sinks with the ids in front, and to the
// job's own log file.
std::shared_ptr<spdlog::logger> jobLogger(const std::string& prefix,
                                          const std::filesystem::path& log_file);

}  // namespace imagefactory
