#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "build/job_context.hpp"
#include "core/error.hpp"

namespace imagefactory {

// A place a target image can be pushed to, resolved from the provider argument of push_image.
struct ProviderDefinition {
    std::string name;      // recorded as the provider image's provider
    std::string target;    // the target whose images this provider takes
    std::string settings;  // JSON object text with the definition's other keys
};

struct PushRequest {
    std::string image_id;
    std::string build_id;
    std::string target_image_id;
    std::string provider_image_id;
    ProviderDefinition provider;
    std::filesystem::path target_image_file;  // absolute path of the target image body
    std::string credentials_xml;              // secret: never log, store or echo it
};

struct PushOutput {
    std::string target_identifier;
    std::string provider_account_identifier;
    std::string parameters = "{}";
};

struct ImportRequest {
    std::string target_identifier;
    ProviderDefinition provider;
};

// A provider kind (cloud or host type) that pushes target images of its targets.
class ProviderDriver {
  public:
    virtual ~ProviderDriver() = default;

    virtual std::string name() const = 0;
    virtual std::string failureType() const = 0;

    // Whether this driver serves the provider argument; fills definition when it does.
    virtual bool resolve(const std::string& provider_argument,
                         ProviderDefinition& definition) const = 0;

    // Checked when push_image is called. The error must not quote the credentials.
    virtual Status checkCredentials(const std::string& credentials_xml) const = 0;

    virtual Result<PushOutput> push(const PushRequest& request, JobContext& context) = 0;

    // Checked when import_image is called: the image named by the request exists there.
    virtual Status checkImport(const ImportRequest& request) const = 0;
};

class ProviderRegistry {
  public:
    void add(std::shared_ptr<ProviderDriver> driver);

    // Resolves a provider argument with the first driver that accepts it, or returns a
    // NotFound error listing the known providers.
    Result<std::pair<ProviderDriver*, ProviderDefinition>> resolve(
        const std::string& provider_argument) const;

    std::vector<std::string> names() const;

  private:
    std::vector<std::shared_ptr<ProviderDriver>> drivers_;
};

}  // namespace imagefactory
