#pragma once

#include <cstdio>
#include <map>
#include <mutex>
#include <string>

#include "jobs/job_observer.hpp"

namespace imagefactory {

// Shows job progress on the command line: one redrawn line with a bar per job on a terminal,
// plain lines (one per change) otherwise.
class ProgressPrinter : public JobObserver {
  public:
    ProgressPrinter(std::FILE* out, bool terminal) : out_(out), terminal_(terminal) {}

    void onJobCreated(const JobSnapshot& job) override;
    void onStatusChanged(const JobSnapshot& job, JobStatus old_status,
                         JobStatus new_status) override;
    void onPercentChanged(const JobSnapshot& job, int percent_complete) override;
    void onFailed(const JobSnapshot& job, const std::string& type,
                  const std::string& info) override;

    // Ends the redrawn line, if any, so that later output starts on a fresh line.
    void finish();

  private:
    void redraw();
    static std::string label(const JobSnapshot& job);

    std::FILE* out_;
    bool terminal_;
    std::mutex mutex_;
    std::map<std::string, JobSnapshot> jobs_;
    bool line_open_ = false;
};

}  // namespace imagefactory
