#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "build/job_context.hpp"
#include "core/credentials.hpp"
#include "core/error.hpp"

namespace imagefactory {

// A place a target image can be pushed to, resolved from the provider argument of push_image
// or import_image by ProviderCatalog.
struct ProviderDefinition {
    std::string name;         // recorded as the provider image's provider
    std::string target;       // the target whose images this provider takes
    nlohmann::json settings;  // the definition's other keys, always a JSON object
};

struct PushRequest {
    std::string image_id;
    std::string build_id;
    std::string target_image_id;
    std::string provider_image_id;
    ProviderDefinition provider;
    std::filesystem::path target_image_file;  // absolute path of the target image body
    std::string target_image_parameters;      // JSON object text the build recorded
    ProviderCredentials credentials;          // secret: never log, store or echo them
};

struct PushOutput {
    std::string target_identifier;            // the provider's own id of the pushed image
    std::string provider_account_identifier;  // the account or user that owns it there
    std::string parameters = "{}";            // JSON object text recorded on the provider image
};

struct ImportRequest {
    std::string target_identifier;
    ProviderDefinition provider;
};

// A provider kind (cloud or host type) that pushes the target images of one target. Drivers
// are used from several job threads at once.
class ProviderDriver {
  public:
    virtual ~ProviderDriver() = default;

    // The target whose images this driver pushes, e.g. "libvirt".
    virtual std::string target() const = 0;
    // The failure type reported in BuildFailedEvent when a push fails.
    virtual std::string failureType() const = 0;

    // Whether checkPush, checkTargetImage and checkImport reach the provider (a connection,
    // a folder that may be on NFS). The QMF agent runs such calls off its AMQP thread.
    virtual bool checksReachProvider() const { return true; }

    // Whether push_image's credentials are parsed for this target. The original's condorcloud
    // ignored them.
    virtual bool usesCredentials() const { return true; }

    // Checked when push_image is called, before anything is recorded: the definition's
    // settings, the credentials and, where that is quick, that the provider answers. Errors
    // name the setting or element at fault and never quote a credential.
    virtual Status checkPush(const ProviderDefinition& provider,
                             const ProviderCredentials& credentials) const = 0;

    // Checked after checkPush for each target image about to be pushed, still before anything
    // is recorded: for example that the provider holds no copy of it already.
    virtual Status checkTargetImage(const ProviderDefinition& provider,
                                    const ProviderCredentials& credentials,
                                    const std::string& target_image_id,
                                    const std::filesystem::path& target_image_file) const {
        (void)provider;
        (void)credentials;
        (void)target_image_id;
        (void)target_image_file;
        return okStatus();
    }

    // Puts the image at the provider. On failure or abort, whatever the push made there is
    // removed again.
    virtual Result<PushOutput> push(const PushRequest& request, JobContext& context) = 0;

    // Checked when import_image is called: the image named by the request exists at the
    // provider. Returns the identifier to record, in the provider's canonical form (so that
    // importing one image twice under two spellings gives the same record).
    virtual Result<std::string> checkImport(const ImportRequest& request) const = 0;
};

// Turns provider arguments into definitions, in the original's order: inline XML (one element
// whose attributes are the keys), inline JSON object, a name from the definition files,
// "ec2-<region>", "rackspace", a name starting with "mock". Anything else is an error that
// lists the known names; there is no fallback provider.
class ProviderCatalog {
  public:
    // Reads providers.json (any target), rhevm.json (target rhevm) and vsphere.json (target
    // vsphere) from folder, where present. Each is a JSON object of name -> definition object.
    static Result<ProviderCatalog> load(const std::filesystem::path& folder);

    // Adds a named definition; a later one with the same name replaces the earlier.
    void add(ProviderDefinition definition);

    Result<ProviderDefinition> resolve(const std::string& argument) const;

    // The defined names followed by the patterns always understood.
    std::vector<std::string> names() const;

  private:
    std::map<std::string, ProviderDefinition> named_;
};

// Resolves a provider argument with the catalog and finds the driver of its target.
class ProviderRegistry {
  public:
    ProviderRegistry() = default;
    explicit ProviderRegistry(ProviderCatalog catalog) : catalog_(std::move(catalog)) {}

    void setCatalog(ProviderCatalog catalog) { catalog_ = std::move(catalog); }
    // Registers the driver of driver->target(), replacing an earlier one.
    void add(std::shared_ptr<ProviderDriver> driver);

    // The driver and definition for a provider argument, or an error naming the argument and
    // listing the known providers, or naming the target that has no push driver here.
    Result<std::pair<ProviderDriver*, ProviderDefinition>> resolve(
        const std::string& provider_argument) const;

    std::vector<std::string> targets() const;

  private:
    ProviderCatalog catalog_;
    std::map<std::string, std::shared_ptr<ProviderDriver>> drivers_;
};

}  // namespace imagefactory
