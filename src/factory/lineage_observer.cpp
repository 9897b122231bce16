#include "factory/lineage_observer.hpp"

#include "core/logging.hpp"
#include "store/image_store.hpp"

namespace imagefactory {

void LineageObserver::expectBuilds(const std::string& image_id, const std::string& build_id,
                                   const std::vector<JobSnapshot>& jobs) {
    expect(JobKind::Build, image_id, build_id, jobs);
}

void LineageObserver::expectPushes(const std::string& image_id, const std::string& build_id,
                                   const std::vector<JobSnapshot>& jobs) {
    expect(JobKind::Push, image_id, build_id, jobs);
}

void LineageObserver::expect(JobKind kind, const std::string& image_id, const std::string& build_id,
                             const std::vector<JobSnapshot>& jobs) {
    auto group = std::make_shared<Group>(Group{kind, image_id, build_id, jobs.size()});
    std::lock_guard lock(mutex_);
    for (const auto& job : jobs) {
        groups_[job.id] = group;
    }
}

void LineageObserver::onStatusChanged(const JobSnapshot& job, JobStatus, JobStatus new_status) {
    if (!isTerminal(new_status)) {
        return;
    }
    std::shared_ptr<Group> done;
    {
        std::lock_guard lock(mutex_);
        auto it = groups_.find(job.id);
        if (it == groups_.end()) {
            return;
        }
        auto group = it->second;
        groups_.erase(it);
        if (new_status == JobStatus::Completed && --group->remaining == 0) {
            done = group;
        }
        // Serialize the image updates of all groups: they read, change and write one record.
        if (done) {
            groupCompleted(*done);
        }
    }
}

void LineageObserver::groupCompleted(const Group& group) {
    auto image = store_.getImage(group.image_id);
    if (!image.ok()) {
        componentLogger("factory")->error("cannot update lineage of image={}: {}", group.image_id,
                                          image.error().message);
        return;
    }
    if (group.kind == JobKind::Build) {
        image->latest_unpushed = group.build_id;
    } else {
        image->latest_build = group.build_id;
        if (image->latest_unpushed == group.build_id) {
            image->latest_unpushed.clear();
        }
    }
    image->updated_at = nowMs();
    StoreBatch batch;
    batch.images.push_back(*image);
    Status saved = store_.commit(batch);
    if (!saved.ok()) {
        componentLogger("factory")->error("cannot update lineage of image={}: {}", group.image_id,
                                          saved.error().message);
        return;
    }
    componentLogger("factory")->info("{} complete image={} build={}",
                                     group.kind == JobKind::Build ? "build" : "push",
                                     group.image_id, group.build_id);
}

}  // namespace imagefactory
