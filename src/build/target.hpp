#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "build/job_context.hpp"
#include "core/error.hpp"

namespace imagefactory {

struct BuildRequest {
    std::string image_id;
    std::string build_id;
    std::string target_image_id;
    std::string target;
    std::string template_xml;  // as submitted; passed checkTemplateXml()
    std::string parameters;    // JSON object text
};

struct BuildOutput {
    // The finished body, somewhere under the job's workDir(); the job installs it in the store.
    std::filesystem::path file;
    // The name the body gets inside the target image's folder, e.g. "disk.qcow2".
    std::string file_name;
    std::string parameters = "{}";  // JSON object text recorded on the target image
};

// A target turns a template into a target image for one cloud format. Implementations are
// registered by name and must be safe to use from several job threads at once.
class Target {
  public:
    virtual ~Target() = default;

    virtual std::string name() const = 0;

    // The failure type reported in BuildFailedEvent when build() fails (e.g. "Mock").
    virtual std::string failureType() const = 0;

    // Checked when build_image is called, so that a template this target cannot build is
    // rejected at once with an error naming what is wrong.
    virtual Status checkTemplate(const std::string& template_xml) const = 0;

    virtual Result<BuildOutput> build(const BuildRequest& request, JobContext& context) = 0;
};

using TargetFactory = std::function<std::unique_ptr<Target>()>;

// Targets by name. Registration happens at start-up, lookups afterwards from any thread.
class TargetRegistry {
  public:
    void add(std::shared_ptr<Target> target);
    Target* find(const std::string& name) const;
    std::vector<std::string> names() const;

  private:
    std::map<std::string, std::shared_ptr<Target>> targets_;
};

}  // namespace imagefactory
