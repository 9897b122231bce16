#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "jobs/job_observer.hpp"

namespace imagefactory {

class ImageStore;
class TargetRegistry;
class ProviderRegistry;
class JobManager;
class LineageObserver;
class Target;
class ProviderDriver;
struct JobWork;
struct PushRequest;

struct FactoryOptions {
    int max_concurrent_local_builds = 2;
    int max_concurrent_pushes = 2;
    long template_fetch_timeout_seconds = 30;
    long job_timeout_seconds = 0;  // 0: no limit
    // Whether a template argument may name a file on this machine. The daemon turns it off:
    // a caller on the bus has no business reading the daemon's files, and its console sends
    // a template file's text anyway.
    bool template_files_allowed = true;
};

struct ImportResult {
    std::string image_id;
    std::string build_id;
    std::string target_image_id;
    std::string provider_image_id;
};

// The one entry point used by the QMF agent and the one-shot command line: resolves templates
// and providers, records images and builds, and starts one job per target or provider. Every
// method is safe to call from any thread and returns quickly; long work runs in jobs.
class Factory {
  public:
    Factory(ImageStore& store, TargetRegistry& targets, ProviderRegistry& providers,
            FactoryOptions options);
    ~Factory();

    Factory(const Factory&) = delete;
    Factory& operator=(const Factory&) = delete;

    // Observers see every job created after they are added. Add them before the first call.
    void addObserver(std::shared_ptr<JobObserver> observer);

    // build_image(image, build, template, targets): one build job per target, in order. image
    // and build may be empty (new records are made) or name existing records.
    Result<std::vector<JobSnapshot>> buildImage(const std::string& image_id,
                                                const std::string& build_id,
                                                const std::string& template_argument,
                                                const std::vector<std::string>& targets);

    // push_image(image, build, providers, credentials): one push job per provider, in order.
    Result<std::vector<JobSnapshot>> pushImage(const std::string& image_id,
                                               const std::string& build_id,
                                               const std::vector<std::string>& providers,
                                               const std::string& credentials_xml);

    // Whether checking a push or import for these provider arguments reaches a provider (see
    // ProviderDriver::checksReachProvider). Arguments that do not resolve reach nothing.
    bool checksReachProviders(const std::vector<std::string>& provider_arguments) const;

    // import_image: records an image that already exists on a provider, synchronously.
    Result<ImportResult> importImage(const std::string& image_id, const std::string& build_id,
                                     const std::string& target_identifier,
                                     const std::string& image_desc, const std::string& target,
                                     const std::string& provider);

    // instance_states(class_name): the state machine of a QMF class as Python dict text.
    Result<std::string> instanceStates(const std::string& class_name) const;

    // Aborts a running job. Aborting a job that has ended is an InvalidState error.
    Status abort(const std::string& job_id);

    // Aborts every running job and waits until all have ended.
    void abortAll();

    // The current view of a job, or nullopt for an unknown id.
    std::optional<JobSnapshot> job(const std::string& job_id) const;
    std::vector<JobSnapshot> jobs() const;

    // Blocks until the job has ended (COMPLETED or FAILED) and returns its final view.
    std::optional<JobSnapshot> waitForJob(const std::string& job_id) const;

    ImageStore& store() { return store_; }

  private:
    JobWork buildWork(Target& target, const JobSnapshot& job, const std::string& xml);
    JobWork pushWork(ProviderDriver& driver, const JobSnapshot& job, PushRequest request);

    ImageStore& store_;
    TargetRegistry& targets_;
    ProviderRegistry& providers_;
    FactoryOptions options_;
    std::unique_ptr<JobManager> jobs_;
    std::shared_ptr<LineageObserver> lineage_;
    std::mutex import_mutex_;  // keeps two imports of one provider image from racing
};

}  // namespace imagefactory
