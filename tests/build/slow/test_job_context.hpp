#pragma once

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <vector>

#include "build/job_context.hpp"

namespace imagefactory {

// A job context for driving targets without the job layer: logs to a build log file and to
// stdout, records every percent reported.
class TestJobContext : public JobContext {
  public:
    TestJobContext(std::string id, std::filesystem::path work_dir) : id_(std::move(id)) {
        work_dir_ = std::move(work_dir);
        std::filesystem::create_directories(work_dir_);
        log_path_ = work_dir_.parent_path() / (id_ + ".log");
        auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_path_.string(), true);
        auto out = std::make_shared<spdlog::sinks::stdout_sink_mt>();
        out->set_level(spdlog::level::info);
        logger_ =
            std::make_shared<spdlog::logger>("job-" + id_, spdlog::sinks_init_list{file, out});
        logger_->set_level(spdlog::level::debug);
        logger_->flush_on(spdlog::level::info);
    }

    const std::string& jobId() const override { return id_; }
    void setPercent(int percent) override {
        if (percents_.empty() || percent > percents_.back()) {
            percents_.push_back(percent);
        }
    }
    CancelToken& cancelToken() override { return token_; }
    std::shared_ptr<spdlog::logger> logger() override { return logger_; }
    const std::filesystem::path& workDir() const override { return work_dir_; }

    const std::vector<int>& percents() const { return percents_; }
    const std::filesystem::path& logPath() const { return log_path_; }

    // What the job layer does when a job ends.
    void removeWorkDir() { std::filesystem::remove_all(work_dir_); }

  private:
    std::string id_;
    std::filesystem::path work_dir_;
    std::filesystem::path log_path_;
    CancelToken token_;
    std::shared_ptr<spdlog::logger> logger_;
    std::vector<int> percents_;
};

}  // namespace imagefactory
