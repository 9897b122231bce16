#pragma once

#include <string>

#include "core/job_status.hpp"

namespace imagefactory {

// What an observer knows about a job: the fields a BuildAdaptor shows.
struct JobSnapshot {
    std::string id;      // the target image (build) or provider image (push) being made
    std::string method;  // the QMF method that created the job: build_image or push_image
    JobKind kind = JobKind::Build;
    std::string image_id;
    std::string build_id;
    std::string target;    // build jobs
    std::string provider;  // push jobs
    JobStatus status = JobStatus::New;
    int percent_complete = 0;
    std::string failure_type;
    std::string failure_info;
};

// Receives every change of every job, in the order the job made them. Calls for one job never
// overlap and come from that job's thread (or, for onJobCreated, from the thread that created
// it), so an observer must not block: it copies what it needs and hands it on.
class JobObserver {
  public:
    virtual ~JobObserver() = default;

    // Called before the job can change: the object exists with status NEW and 0 percent.
    virtual void onJobCreated(const JobSnapshot& job) = 0;
    virtual void onStatusChanged(const JobSnapshot& job, JobStatus old_status,
                                 JobStatus new_status) = 0;
    // percent_complete only grows, from 0 to 100, and is reported only when it changes.
    virtual void onPercentChanged(const JobSnapshot& job, int percent_complete) = 0;
    // Reported before the status change to FAILED.
    virtual void onFailed(const JobSnapshot& job, const std::string& type,
                          const std::string& info) = 0;
};

}  // namespace imagefactory
