#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "core/cancel.hpp"

namespace spdlog {
class logger;
}

namespace imagefactory {

// What a running job offers the plug-in doing its work. Everything here may be called from
// the job's own thread only.
class JobContext {
  public:
    virtual ~JobContext() = default;

    // The id of the target or provider image being made.
    virtual const std::string& jobId() const = 0;

    // Reports progress from 0 to 100. Values that do not increase are ignored, so a plug-in
    // may report freely.
    virtual void setPercent(int percent) = 0;

    // Set when the job is aborted. Long work checks it between steps; subprocesses are killed
    // through its callbacks.
    virtual CancelToken& cancelToken() = 0;

    // A logger whose lines carry the job's ids; lines also go to the job's build log.
    virtual std::shared_ptr<spdlog::logger> logger() = 0;

    // A private scratch directory on the data directory's file system, removed when the job
    // ends, whatever the outcome.
    virtual const std::filesystem::path& workDir() const = 0;
};

}  // namespace imagefactory
