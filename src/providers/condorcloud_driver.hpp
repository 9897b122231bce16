#pragma once

#include <filesystem>
#include <string>

#include "build/provider.hpp"

namespace imagefactory {

// Pushes condorcloud target images into the images folder of a Condor cloud host. The
// provider definition may set images_dir (default /home/cloud/images), which must contain a
// staging folder on the same file system. A push copies the image to
// staging/condorimage-<provider image id>.img, writes the libvirt domain XML next to it, then
// renames the image and, last, the XML into images_dir, because the XML's appearance is what
// signals to the cloud that the image is complete. Credentials are ignored.
class CondorCloudDriver : public ProviderDriver {
  public:
    CondorCloudDriver() = default;

    std::string target() const override { return "condorcloud"; }
    std::string failureType() const override { return "CondorCloud"; }
    bool usesCredentials() const override { return false; }

    // Checks that images_dir and images_dir/staging are writable directories.
    Status checkPush(const ProviderDefinition& provider,
                     const ProviderCredentials& credentials) const override;

    Result<PushOutput> push(const PushRequest& request, JobContext& context) override;

    // Checks that <images_dir>/<identifier>.img and .xml both exist. The identifier must be a
    // plain file name (no '/', no "..").
    Result<std::string> checkImport(const ImportRequest& request) const override;
};

// The default images folder of a Condor cloud host.
inline constexpr const char* kDefaultCondorImagesDir = "/home/cloud/images";

// The libvirt domain XML for a pushed image: domain_xml (the build's, may be empty) with its
// <name> set to name and its first disk's source set to disk_path, or a minimal domain when
// domain_xml is empty. Fails with UserInput when domain_xml is not a well-formed <domain>
// document or contains a DOCTYPE.
Result<std::string> condorDomainXml(const std::string& domain_xml, const std::string& name,
                                    const std::filesystem::path& disk_path,
                                    const std::string& disk_format);

}  // namespace imagefactory
