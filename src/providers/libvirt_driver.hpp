#pragma once

#include <string>

#include "build/provider.hpp"

namespace imagefactory {

// Pushes target images of target "libvirt" into a storage pool of a libvirt daemon and defines
// a persistent domain that boots the uploaded volume. Every call opens its own connection, so
// one driver serves several job threads at once. Credentials come from an optional
// <libvirt_credentials> element with <username> and <password>, which libvirt gets through its
// authentication callback when the URI's transport asks for them.
class LibvirtDriver : public ProviderDriver {
  public:
    LibvirtDriver();

    std::string target() const override { return "libvirt"; }
    std::string failureType() const override { return "Libvirt"; }

    // Checks the settings and credentials, connects read-write and looks up the pool.
    Status checkPush(const ProviderDefinition& provider,
                     const ProviderCredentials& credentials) const override;

    // Rejects a target image whose volume is already in the pool, before the push is recorded.
    Status checkTargetImage(const ProviderDefinition& provider,
                            const ProviderCredentials& credentials,
                            const std::string& target_image_id,
                            const std::filesystem::path& target_image_file) const override;

    // Uploads the file as volume imagefactory-<target image id>.<qcow2|raw> and defines domain
    // imagefactory-<provider image id>. Rejects a target image whose volume is already in the
    // pool. The target identifier is the domain's UUID.
    Result<PushOutput> push(const PushRequest& request, JobContext& context) override;

    // Finds a domain by UUID or by name and returns its UUID.
    Result<std::string> checkImport(const ImportRequest& request) const override;
};

}  // namespace imagefactory
