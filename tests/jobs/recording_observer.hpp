#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "jobs/job_observer.hpp"

namespace imagefactory {

// Records every observer call as text, per job, in the order received.
class RecordingObserver : public JobObserver {
  public:
    void onJobCreated(const JobSnapshot& job) override {
        add(job.id, "created " + std::string(jobStatusName(job.status)));
    }
    void onStatusChanged(const JobSnapshot& job, JobStatus old_status,
                         JobStatus new_status) override {
        add(job.id, "status " + std::string(jobStatusName(old_status)) + "->" +
                        std::string(jobStatusName(new_status)));
    }
    void onPercentChanged(const JobSnapshot& job, int percent) override {
        add(job.id, "percent " + std::to_string(percent));
    }
    void onFailed(const JobSnapshot& job, const std::string& type,
                  const std::string& info) override {
        add(job.id, "failed " + type + ": " + info);
    }

    std::vector<std::string> events(const std::string& job_id) {
        std::lock_guard lock(mutex_);
        return events_[job_id];
    }

    size_t total() {
        std::lock_guard lock(mutex_);
        size_t count = 0;
        for (const auto& [id, list] : events_) {
            count += list.size();
        }
        return count;
    }

  private:
    void add(const std::string& id, std::string text) {
        std::lock_guard lock(mutex_);
        events_[id].push_back(std::move(text));
    }

    std::mutex mutex_;
    std::map<std::string, std::vector<std::string>> events_;
};

}  // namespace imagefactory
