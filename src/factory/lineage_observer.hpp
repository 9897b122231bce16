#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "jobs/job_observer.hpp"

namespace imagefactory {

class ImageStore;

// Updates an image's lineage when every job of one build_image or push_image call has
// COMPLETED, as the original's build and push watchers did: after a build the image's
// latest_unpushed is that build; after a push its latest_build is that build and
// latest_unpushed is cleared. A FAILED job means the call never counts as done.
class LineageObserver : public JobObserver {
  public:
    explicit LineageObserver(ImageStore& store) : store_(store) {}

    void expectBuilds(const std::string& image_id, const std::string& build_id,
                      const std::vector<JobSnapshot>& jobs);
    void expectPushes(const std::string& image_id, const std::string& build_id,
                      const std::vector<JobSnapshot>& jobs);

    void onJobCreated(const JobSnapshot&) override {}
    void onStatusChanged(const JobSnapshot& job, JobStatus old_status,
                         JobStatus new_status) override;
    void onPercentChanged(const JobSnapshot&, int) override {}
    void onFailed(const JobSnapshot&, const std::string&, const std::string&) override {}

  private:
    struct Group {
        JobKind kind;
        std::string image_id;
        std::string build_id;
        size_t remaining;
    };

    void expect(JobKind kind, const std::string& image_id, const std::string& build_id,
                const std::vector<JobSnapshot>& jobs);
    void groupCompleted(const Group& group);

    ImageStore& store_;
    std::mutex mutex_;
    std::map<std::string, std::shared_ptr<Group>> groups_;  // by job id
};

}  // namespace imagefactory
