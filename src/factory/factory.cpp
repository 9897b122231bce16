#include "factory/factory.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "build/provider.hpp"
#include "build/target.hpp"
#include "core/credentials.hpp"
#include "core/logging.hpp"
#include "core/template.hpp"
#include "core/template_xml.hpp"
#include "core/text.hpp"
#include "core/uuid.hpp"
#include "factory/image_descriptor.hpp"
#include "factory/lineage_observer.hpp"
#include "factory/template_resolver.hpp"
#include "jobs/job_manager.hpp"
#include "store/image_store.hpp"

namespace imagefactory {

namespace {

// Jobs one call may start. Each is a record and, while it runs, a thread; a caller on the bus
// could otherwise queue without bound.
constexpr size_t kMaxJobsPerCall = 1000;
// The maximum length of a provider id that import_image accepts. Cloud ids are far shorter.
constexpr size_t kMaxIdentifierLength = 1024;

std::string joinNames(const std::vector<std::string>& names) {
    std::string text;
    for (const auto& name : names) {
        text += (text.empty() ? "" : ", ") + name;
    }
    return text;
}

// Image descriptor XML for a new image, as the original wrote it.
std::string imageDescriptor(const std::string& name) {
    if (name.empty()) {
        return "<image/>";
    }
    return "<image><name>" + escapeXml(name) + "</name></image>";
}

}  // namespace

Factory::Factory(ImageStore& store, TargetRegistry& targets, ProviderRegistry& providers,
                 FactoryOptions options)
    : store_(store),
      targets_(targets),
      providers_(providers),
      options_(options),
      jobs_(std::make_unique<JobManager>(
          store,
          JobManagerOptions{options.max_concurrent_local_builds, options.max_concurrent_pushes,
                            std::chrono::seconds(options.job_timeout_seconds)})),
      lineage_(std::make_shared<LineageObserver>(store)) {
    jobs_->addObserver(lineage_);
}

Factory::~Factory() {
    jobs_->abortAll();
}

void Factory::addObserver(std::shared_ptr<JobObserver> observer) {
    jobs_->addObserver(std::move(observer));
}

Result<std::vector<JobSnapshot>> Factory::buildImage(const std::string& image_id,
                                                     const std::string& build_id,
                                                     const std::string& template_argument,
                                                     const std::vector<std::string>& targets_in) {
    std::optional<ImageRecord> image;
    if (!image_id.empty()) {
        auto found = store_.getImage(image_id);
        if (!found.ok()) {
            return notFound("no image with id " + quoteValue(image_id));
        }
        image = std::move(*found);
    }
    std::optional<BuildRecord> build;
    if (!build_id.empty()) {
        auto found = store_.getBuild(build_id);
        if (!found.ok()) {
            return notFound("no build with id " + quoteValue(build_id));
        }
        if (image && found->image_id != image->id) {
            return userError("build " + build_id + " belongs to image " + found->image_id +
                             ", not to image " + image->id);
        }
        build = std::move(*found);
    }

    if (targets_in.size() > kMaxJobsPerCall) {
        return userError(std::to_string(targets_in.size()) + " targets in one build_image call; " +
                         "the limit is " + std::to_string(kMaxJobsPerCall));
    }

    // Without targets, rebuild what the image's latest build was built for.
    std::vector<std::string> targets = targets_in;
    std::string previous_build;
    if (image) {
        previous_build =
            !image->latest_unpushed.empty() ? image->latest_unpushed : image->latest_build;
    }
    if (targets.empty() && !previous_build.empty()) {
        auto previous = store_.targetImagesOfBuild(previous_build);
        if (previous.ok()) {
            for (const auto& target_image : *previous) {
                targets.push_back(target_image.target);
            }
        }
    }

    // The template: the argument, or the one the given build or the image's latest build used.
    ResolvedTemplate resolved;
    if (!template_argument.empty()) {
        auto found =
            resolveTemplate(store_, template_argument, options_.template_fetch_timeout_seconds,
                            options_.template_files_allowed);
        if (!found.ok()) {
            return found.error();
        }
        resolved = std::move(*found);
    } else {
        std::string source_build = build ? build->id : previous_build;
        if (!source_build.empty()) {
            auto previous = store_.targetImagesOfBuild(source_build);
            if (previous.ok() && !previous->empty()) {
                auto found = resolveTemplate(store_, previous->front().template_id,
                                             options_.template_fetch_timeout_seconds);
                if (found.ok()) {
                    resolved = std::move(*found);
                }
            }
        }
        if (resolved.xml.empty()) {
            return userError(
                "'template' must be a UUID, URL, XML string or XML document path, and no "
                "earlier build of the image has one to reuse");
        }
    }

    std::vector<Target*> plugins;
    for (const auto& name : targets) {
        Target* target = targets_.find(name);
        if (!target) {
            return notFound("unknown target '" + name +
                            "'; known targets: " + joinNames(targets_.names()));
        }
        Status accepted = target->checkTemplate(resolved.xml);
        if (!accepted.ok()) {
            return Error{accepted.error().code, "target " + name + " cannot build this template: " +
                                                    accepted.error().message};
        }
        plugins.push_back(target);
    }

    TimestampMs now = nowMs();
    StoreBatch batch;
    if (resolved.id.empty()) {
        resolved.id = newUuid();
        batch.templates.push_back({resolved.id, resolved.xml, now});
    }
    if (!image) {
        ImageRecord record;
        record.id = newUuid();
        record.name = templateName(resolved.xml);
        record.description = imageDescriptor(record.name);
        record.template_id = resolved.id;
        record.created_at = record.updated_at = now;
        batch.images.push_back(record);
        image = record;
    }
    if (!build) {
        BuildRecord record;
        record.id = newUuid();
        record.image_id = image->id;
        record.parent_id = previous_build;
        record.created_at = record.updated_at = now;
        batch.builds.push_back(record);
        build = record;
    }

    std::vector<JobSnapshot> jobs;
    for (size_t i = 0; i < plugins.size(); ++i) {
        TargetImageRecord record;
        record.id = newUuid();
        record.build_id = build->id;
        record.target = targets[i];
        record.template_id = resolved.id;
        record.parameters = "{}";
        record.created_at = record.updated_at = now;
        batch.target_images.push_back(record);

        JobSnapshot job;
        job.id = record.id;
        job.method = "build_image";
        job.kind = JobKind::Build;
        job.image_id = image->id;
        job.build_id = build->id;
        job.target = targets[i];
        jobs.push_back(job);
    }

    Status committed = store_.commit(batch);
    if (!committed.ok()) {
        return committed.error();
    }

    lineage_->expectBuilds(image->id, build->id, jobs);
    for (size_t i = 0; i < jobs.size(); ++i) {
        jobs_->create(jobs[i], buildWork(*plugins[i], jobs[i], resolved.xml));
    }
    for (const auto& job : jobs) {
        componentLogger("factory")->info("building build={} image={} target={} target_image={}",
                                         job.build_id, job.image_id, job.target, job.id);
        jobs_->start(job.id);
    }
    return jobs;
}

JobWork Factory::buildWork(Target& target, const JobSnapshot& job, const std::string& xml) {
    auto output = std::make_shared<BuildOutput>();
    BuildRequest request;
    request.image_id = job.image_id;
    request.build_id = job.build_id;
    request.target_image_id = job.id;
    request.target = job.target;
    request.template_xml = xml;
    request.parameters = "{}";

    JobWork work;
    work.failure_type = target.failureType();
    work.run = [&target, request, output](JobContext& context) -> Status {
        auto built = target.build(request, context);
        if (!built.ok()) {
            return built.error();
        }
        *output = std::move(*built);
        return okStatus();
    };
    work.finish = [this, job, output](JobContext&) -> Status {
        std::string relative = "target_images/" + job.id + "/" + output->file_name;
        auto installed = store_.installFile(output->file, relative);
        if (!installed.ok()) {
            return installed.error();
        }
        auto record = store_.getTargetImage(job.id);
        if (!record.ok()) {
            return record.error();
        }
        // The file and COMPLETED land in one commit: a body is never recorded for an image
        // that is not complete, and a complete image always has its body.
        record->file = relative;
        record->parameters = output->parameters;
        record->job.status = JobStatus::Completed;
        record->job.percent_complete = 100;
        record->updated_at = nowMs();
        StoreBatch batch;
        batch.target_images.push_back(*record);
        return store_.commit(batch);
    };
    return work;
}

Result<std::vector<JobSnapshot>> Factory::pushImage(const std::string& image_id,
                                                    const std::string& build_id_in,
                                                    const std::vector<std::string>& providers,
                                                    const std::string& credentials_xml) {
    if (providers.size() > kMaxJobsPerCall) {
        return userError(std::to_string(providers.size()) + " providers in one push_image call; " +
                         "the limit is " + std::to_string(kMaxJobsPerCall));
    }
    auto image = store_.getImage(image_id);
    if (!image.ok()) {
        return notFound("no image with id " + quoteValue(image_id));
    }
    std::string build_id = build_id_in;
    if (build_id.empty()) {
        build_id = !image->latest_unpushed.empty() ? image->latest_unpushed : image->latest_build;
    }
    if (build_id.empty()) {
        return invalidState("image " + image_id + " has no completed build to push");
    }
    auto build = store_.getBuild(build_id);
    if (!build.ok()) {
        return notFound("no build with id " + quoteValue(build_id));
    }
    if (build->image_id != image_id) {
        return userError("build " + build_id + " belongs to image " + build->image_id +
                         ", not to image " + image_id);
    }
    auto target_images = store_.targetImagesOfBuild(build_id);
    if (!target_images.ok()) {
        return target_images.error();
    }

    struct Planned {
        ProviderDriver* driver;
        ProviderDefinition definition;
        TargetImageRecord target_image;
        ProviderCredentials credentials;
    };
    std::vector<Planned> planned;
    std::set<std::string> provider_names;
    for (const auto& argument : providers) {
        auto resolved = providers_.resolve(argument);
        if (!resolved.ok()) {
            return resolved.error();
        }
        auto [driver, definition] = *resolved;
        if (!provider_names.insert(definition.name).second) {
            return userError("provider " + definition.name +
                             " is named twice in one push_image call");
        }
        const TargetImageRecord* source = nullptr;
        bool imported_only = false;
        for (const auto& candidate : *target_images) {
            if (candidate.target != definition.target ||
                candidate.job.status != JobStatus::Completed) {
                continue;
            }
            // An imported target image has a record but no file, so there is nothing to copy.
            if (candidate.file.empty()) {
                imported_only = true;
                continue;
            }
            source = &candidate;
        }
        if (!source && imported_only) {
            return invalidState(
                "build " + build_id + " has only an imported target image for target " +
                definition.target + ", with no file to push to provider " + definition.name);
        }
        if (!source) {
            return invalidState("build " + build_id + " has no completed target image for target " +
                                definition.target + ", which provider " + definition.name +
                                " needs");
        }
        // Neither the parser's nor the driver's messages quote a credential, and nothing here
        // adds one.
        ProviderCredentials credentials;
        if (driver->usesCredentials()) {
            auto parsed = parseProviderCredentials(credentials_xml, definition.target);
            if (!parsed.ok()) {
                return Error{parsed.error().code, "credentials for provider " + definition.name +
                                                      " are not usable: " + parsed.error().message};
            }
            credentials = std::move(*parsed);
        }
        Status accepted = driver->checkPush(definition, credentials);
        if (!accepted.ok()) {
            return Error{accepted.error().code, "cannot push to provider " + definition.name +
                                                    ": " + accepted.error().message};
        }
        accepted = driver->checkTargetImage(definition, credentials, source->id,
                                            store_.dataDir() / source->file);
        if (!accepted.ok()) {
            return Error{accepted.error().code, "cannot push to provider " + definition.name +
                                                    ": " + accepted.error().message};
        }
        planned.push_back({driver, definition, *source, std::move(credentials)});
    }

    TimestampMs now = nowMs();
    StoreBatch batch;
    std::vector<JobSnapshot> jobs;
    for (const auto& plan : planned) {
        ProviderImageRecord record;
        record.id = newUuid();
        record.target_image_id = plan.target_image.id;
        record.provider = plan.definition.name;
        record.parameters = "{}";
        record.created_at = record.updated_at = now;
        batch.provider_images.push_back(record);

        JobSnapshot job;
        job.id = record.id;
        job.method = "push_image";
        job.kind = JobKind::Push;
        job.image_id = image_id;
        job.build_id = build_id;
        job.target = plan.definition.target;
        job.provider = plan.definition.name;
        jobs.push_back(job);
    }
    Status committed = store_.commit(batch);
    if (!committed.ok()) {
        return committed.error();
    }

    lineage_->expectPushes(image_id, build_id, jobs);
    for (size_t i = 0; i < jobs.size(); ++i) {
        PushRequest request;
        request.image_id = image_id;
        request.build_id = build_id;
        request.target_image_id = planned[i].target_image.id;
        request.provider_image_id = jobs[i].id;
        request.provider = planned[i].definition;
        request.target_image_file = store_.dataDir() / planned[i].target_image.file;
        request.target_image_parameters = planned[i].target_image.parameters;
        request.credentials = std::move(planned[i].credentials);
        jobs_->create(jobs[i], pushWork(*planned[i].driver, jobs[i], std::move(request)));
    }
    for (const auto& job : jobs) {
        componentLogger("factory")->info("pushing build={} image={} provider={} provider_image={}",
                                         job.build_id, job.image_id, job.provider, job.id);
        jobs_->start(job.id);
    }
    return jobs;
}

JobWork Factory::pushWork(ProviderDriver& driver, const JobSnapshot& job, PushRequest request) {
    auto output = std::make_shared<PushOutput>();
    auto shared_request = std::make_shared<PushRequest>(std::move(request));

    JobWork work;
    work.failure_type = driver.failureType();
    work.run = [&driver, shared_request, output](JobContext& context) -> Status {
        auto pushed = driver.push(*shared_request, context);
        // The credentials are needed no longer than the push itself; Secret wipes them.
        shared_request->credentials = ProviderCredentials();
        if (!pushed.ok()) {
            return pushed.error();
        }
        *output = std::move(*pushed);
        return okStatus();
    };
    work.finish = [this, job, output](JobContext&) -> Status {
        auto record = store_.getProviderImage(job.id);
        if (!record.ok()) {
            return record.error();
        }
        record->job.status = JobStatus::Completed;
        record->job.percent_complete = 100;
        record->target_identifier = output->target_identifier;
        record->provider_account_identifier = output->provider_account_identifier;
        record->parameters = output->parameters;
        record->updated_at = nowMs();
        StoreBatch batch;
        batch.provider_images.push_back(*record);
        return store_.commit(batch);
    };
    return work;
}

Result<ImportResult> Factory::importImage(const std::string& image_id, const std::string& build_id,
                                          const std::string& target_identifier,
                                          const std::string& image_desc, const std::string& target,
                                          const std::string& provider_argument) {
    if (target_identifier.empty()) {
        return userError("import_image needs a target_identifier: the provider's id of the image");
    }
    // The identifier is printed and logged: no control characters, and a sane length.
    bool printable = target_identifier.size() <= kMaxIdentifierLength &&
                     std::none_of(target_identifier.begin(), target_identifier.end(), [](char c) {
                         return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
                     });
    if (!printable) {
        return userError("invalid target_identifier " + quoteValue(target_identifier) +
                         ": expected at most " + std::to_string(kMaxIdentifierLength) +
                         " characters and no control characters");
    }
    if (target.empty()) {
        return userError("import_image needs a target");
    }
    auto resolved = providers_.resolve(provider_argument);
    if (!resolved.ok()) {
        return resolved.error();
    }
    auto [driver, definition] = *resolved;
    if (definition.target != target) {
        return userError("provider " + definition.name + " takes images of target " +
                         definition.target + ", not of target " + quoteValue(target));
    }
    Status descriptor_ok = checkImageDescriptor(image_desc);
    if (!descriptor_ok.ok()) {
        return descriptor_ok.error();
    }
    auto canonical = driver->checkImport({target_identifier, definition});
    if (!canonical.ok()) {
        return canonical.error();
    }
    const std::string& identifier = *canonical;

    std::lock_guard lock(import_mutex_);

    // The same provider image imported again gives the same ids.
    auto existing = store_.findProviderImage(definition.name, identifier);
    if (!existing.ok()) {
        return existing.error();
    }
    if (existing->has_value()) {
        const ProviderImageRecord& provider_image = **existing;
        auto target_image = store_.getTargetImage(provider_image.target_image_id);
        if (!target_image.ok()) {
            return target_image.error();
        }
        auto build = store_.getBuild(target_image->build_id);
        if (!build.ok()) {
            return build.error();
        }
        // Imported before into the image (and build) the caller names, or into any when the
        // caller names none: the same ids again, not a second record of one provider image.
        bool same_image = image_id.empty() || build->image_id == image_id;
        bool same_build = build_id.empty() || build->id == build_id;
        if (same_image && same_build) {
            return ImportResult{build->image_id, build->id, target_image->id, provider_image.id};
        }
    }

    TimestampMs now = nowMs();
    StoreBatch batch;

    ImageRecord image;
    if (!image_id.empty()) {
        auto found = store_.getImage(image_id);
        if (!found.ok()) {
            return notFound("no image with id " + quoteValue(image_id));
        }
        image = std::move(*found);
    } else {
        image.id = newUuid();
        image.description = image_desc;
        image.name = imageDescriptorName(image_desc);
        image.created_at = now;
    }

    BuildRecord build;
    if (!build_id.empty()) {
        auto found = store_.getBuild(build_id);
        if (!found.ok()) {
            return notFound("no build with id " + quoteValue(build_id));
        }
        if (found->image_id != image.id) {
            return userError("build " + build_id + " belongs to image " + found->image_id +
                             ", not to image " + image.id);
        }
        build = std::move(*found);
    } else {
        build.id = newUuid();
        build.image_id = image.id;
        build.parent_id = image.latest_build;
        build.created_at = build.updated_at = now;
        batch.builds.push_back(build);
    }

    TargetImageRecord target_image;
    auto siblings = store_.targetImagesOfBuild(build.id);
    if (siblings.ok()) {
        for (const auto& candidate : *siblings) {
            if (candidate.target == target) {
                target_image = candidate;
            }
        }
    }
    if (target_image.id.empty()) {
        target_image.id = newUuid();
        target_image.build_id = build.id;
        target_image.target = target;
        target_image.parameters = "{}";
        target_image.job.status = JobStatus::Completed;
        target_image.job.percent_complete = 100;
        target_image.created_at = target_image.updated_at = now;
        batch.target_images.push_back(target_image);
    }

    ProviderImageRecord provider_image;
    auto pushed = store_.providerImagesOfTargetImage(target_image.id);
    if (pushed.ok()) {
        for (const auto& candidate : *pushed) {
            if (candidate.provider == definition.name) {
                provider_image = candidate;
            }
        }
    }
    if (provider_image.id.empty()) {
        provider_image.id = newUuid();
        provider_image.target_image_id = target_image.id;
        provider_image.provider = definition.name;
        provider_image.parameters = "{}";
        provider_image.job.status = JobStatus::Completed;
        provider_image.job.percent_complete = 100;
        provider_image.created_at = now;
    }
    provider_image.target_identifier = identifier;
    provider_image.updated_at = now;
    batch.provider_images.push_back(provider_image);

    image.latest_build = build.id;
    image.updated_at = now;
    batch.images.push_back(image);

    Status committed = store_.commit(batch);
    if (!committed.ok()) {
        return committed.error();
    }
    componentLogger("factory")->info(
        "imported target_identifier={} provider={} image={} build={} target_image={} "
        "provider_image={}",
        quoteValue(identifier), definition.name, image.id, build.id, target_image.id,
        provider_image.id);
    return ImportResult{image.id, build.id, target_image.id, provider_image.id};
}

bool Factory::checksReachProviders(const std::vector<std::string>& provider_arguments) const {
    for (const auto& argument : provider_arguments) {
        auto resolved = providers_.resolve(argument);
        if (resolved.ok() && resolved->first->checksReachProvider()) {
            return true;
        }
    }
    return false;
}

Result<std::string> Factory::instanceStates(const std::string& class_name) const {
    if (class_name == "BuildAdaptor") {
        return describeJobStateMachine();
    }
    if (class_name == "ImageFactory") {
        return std::string("{}");
    }
    return notFound("unknown class '" + class_name +
                    "'; known classes: ImageFactory, BuildAdaptor");
}

Status Factory::abort(const std::string& job_id) {
    return jobs_->abort(job_id);
}

void Factory::abortAll() {
    jobs_->abortAll();
}

std::optional<JobSnapshot> Factory::job(const std::string& job_id) const {
    return jobs_->snapshot(job_id);
}

std::vector<JobSnapshot> Factory::jobs() const {
    return jobs_->snapshots();
}

std::optional<JobSnapshot> Factory::waitForJob(const std::string& job_id) const {
    return jobs_->waitFor(job_id);
}

}  // namespace imagefactory
