#include "core/logging.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <mutex>
#include <vector>

namespace imagefactory {

namespace {

// The original's line layout: time, level, component, pid, message.
constexpr const char* kPattern = "%Y-%m-%d %H:%M:%S.%e %l %n pid(%P) %v";

struct LoggingState {
    std::mutex mutex;
    std::vector<spdlog::sink_ptr> sinks;
    spdlog::level::level_enum level = spdlog::level::warn;
};

LoggingState& state() {
    static LoggingState instance;
    return instance;
}

std::vector<spdlog::sink_ptr> currentSinks(LoggingState& s) {
    if (s.sinks.empty()) {
        auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
        sink->set_pattern(kPattern);
        s.sinks.push_back(sink);
    }
    return s.sinks;
}

// Forwards each message to other sinks with a fixed prefix in front of the text, so that the
// shared sinks keep their own pattern while a job's lines carry its ids.
class PrefixSink : public spdlog::sinks::base_sink<std::mutex> {
  public:
    PrefixSink(std::string prefix, std::vector<spdlog::sink_ptr> targets)
        : prefix_(std::move(prefix)), targets_(std::move(targets)) {}

  protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        std::string text = prefix_;
        text.append(msg.payload.data(), msg.payload.size());
        spdlog::details::log_msg copy = msg;
        copy.payload = text;
        for (auto& target : targets_) {
            if (target->should_log(copy.level)) {
                target->log(copy);
            }
        }
    }
    void flush_() override {
        for (auto& target : targets_) {
            target->flush();
        }
    }

  private:
    std::string prefix_;
    std::vector<spdlog::sink_ptr> targets_;
};

}  // namespace

void configureLogging(spdlog::level::level_enum level, const std::filesystem::path& log_file) {
    LoggingState& s = state();
    std::lock_guard lock(s.mutex);
    s.level = level;
    s.sinks.clear();
    spdlog::sink_ptr sink;
    if (log_file.empty()) {
        sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    } else {
        sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_file.string());
    }
    sink->set_pattern(kPattern);
    s.sinks.push_back(sink);

    // Loggers made before this call keep working with the new sinks and level.
    spdlog::apply_all([&](std::shared_ptr<spdlog::logger> logger) {
        logger->sinks() = s.sinks;
        logger->set_level(level);
    });
}

std::shared_ptr<spdlog::logger> componentLogger(const std::string& component) {
    if (auto existing = spdlog::get(component)) {
        return existing;
    }
    LoggingState& s = state();
    std::lock_guard lock(s.mutex);
    if (auto existing = spdlog::get(component)) {
        return existing;
    }
    auto sinks = currentSinks(s);
    auto logger = std::make_shared<spdlog::logger>(component, sinks.begin(), sinks.end());
    logger->set_level(s.level);
    spdlog::register_logger(logger);
    return logger;
}

std::shared_ptr<spdlog::logger> jobLogger(const std::string& prefix,
                                          const std::filesystem::path& log_file) {
    LoggingState& s = state();
    std::vector<spdlog::sink_ptr> shared;
    spdlog::level::level_enum level;
    {
        std::lock_guard lock(s.mutex);
        shared = currentSinks(s);
        level = s.level;
    }

    std::error_code ignored;
    std::filesystem::create_directories(log_file.parent_path(), ignored);
    auto file_sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_file.string());
    file_sink->set_pattern("%Y-%m-%d %H:%M:%S.%e %l %v");

    // The job's file keeps lines from debug up; the shared sinks only what the configured level
    // lets through, with the ids in front.
    auto prefixed = std::make_shared<PrefixSink>(prefix + " ", std::move(shared));
    prefixed->set_level(level);
    file_sink->set_level(spdlog::level::debug);

    std::vector<spdlog::sink_ptr> sinks = {prefixed, file_sink};
    // Not registered: job loggers come and go with their jobs.
    auto logger = std::make_shared<spdlog::logger>("job", sinks.begin(), sinks.end());
    logger->set_level(spdlog::level::debug);
    return logger;
}

}  // namespace imagefactory
