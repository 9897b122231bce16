#pragma once

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <vector>

#include "build/job_context.hpp"

namespace imagefactory::test {

// A job context that records every percent reported and, when cancel_above is set, cancels
// its token as soon as a percent above it is reported: an abort in the middle of a copy.
class RecordingJobContext : public JobContext {
  public:
    RecordingJobContext(std::filesystem::path work_dir, int cancel_above = -1)
        : work_dir_(std::move(work_dir)), cancel_above_(cancel_above) {
        logger_ = std::make_shared<spdlog::logger>("provider-test",
                                                   std::make_shared<spdlog::sinks::null_sink_mt>());
    }

    const std::string& jobId() const override { return id_; }
    void setPercent(int percent) override {
        std::lock_guard lock(mutex_);
        percents_.push_back(percent);
        if (cancel_above_ >= 0 && percent > cancel_above_) {
            token_.cancel();
        }
    }
    CancelToken& cancelToken() override { return token_; }
    std::shared_ptr<spdlog::logger> logger() override { return logger_; }
    const std::filesystem::path& workDir() const override { return work_dir_; }

    std::vector<int> percents() const {
        std::lock_guard lock(mutex_);
        return percents_;
    }

  private:
    std::string id_ = "push-test";
    std::filesystem::path work_dir_;
    int cancel_above_;
    CancelToken token_;
    std::shared_ptr<spdlog::logger> logger_;
    mutable std::mutex mutex_;
    std::vector<int> percents_;
};

// A fresh directory below the system temporary directory, removed with everything in it.
class TempDir {
  public:
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "if-push-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed for " + pattern);
        }
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

inline int run(const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str());
}

// Makes a qcow2 image with qemu-img and writes data_mib MiB of a byte pattern into it with
// qemu-io, so that the file holds that much allocated data.
inline void makeQcow2(const std::filesystem::path& path, int virtual_mib, int data_mib) {
    ASSERT_EQ(run("qemu-img create -f qcow2 '" + path.string() + "' " +
                  std::to_string(virtual_mib) + "M"),
              0);
    if (data_mib > 0) {
        ASSERT_EQ(run("qemu-io -f qcow2 -c 'write -P 0x5a 0 " + std::to_string(data_mib) + "M' '" +
                      path.string() + "'"),
                  0);
    }
}

inline std::string readFile(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void writeFile(const std::filesystem::path& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary);
    out << content;
}

inline std::vector<std::string> listNames(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        names.push_back(entry.path().filename().string());
    }
    return names;
}

inline bool isRising(const std::vector<int>& values) {
    for (size_t i = 1; i < values.size(); ++i) {
        if (values[i] < values[i - 1]) {
            return false;
        }
    }
    return true;
}

}  // namespace imagefactory::test
