#pragma once

#include <filesystem>
#include <string>

#include "build/provider.hpp"

namespace imagefactory {

// Pushes rhevm target images (qcow2 or raw) into an oVirt/RHEV export storage domain mounted
// on this host, as a VM the engine can import. Settings of the provider definition:
//   nfs-dir   the local mount of the export domain (required)
//   nfs-host, nfs-path, api-url, cluster   strings, kept for the engine import call
//   timeout   seconds the engine import may take (positive number, default 1800)
//   username, password   used when the credentials do not carry them
// Credentials: <rhevm_credentials> with username and password.
//
// A push stages the disk, its .meta and the VM's OVF in a hidden folder inside the storage
// domain, then renames the image folder into images/ and, last, the VM folder into
// master/vms/. The target identifier is the VM's UUID.
class RhevmExportDriver : public ProviderDriver {
  public:
    RhevmExportDriver() = default;

    std::string target() const override { return "rhevm"; }
    std::string failureType() const override { return "RHEVM"; }

    // Checks the settings' types, that a username and a password are given, and that nfs-dir
    // contains exactly one writable storage domain.
    Status checkPush(const ProviderDefinition& provider,
                     const ProviderCredentials& credentials) const override;

    Result<PushOutput> push(const PushRequest& request, JobContext& context) override;

    // Checks that <sd>/master/vms/<uuid>/<uuid>.ovf exists for a canonical UUID and returns it
    // in lower case.
    Result<std::string> checkImport(const ImportRequest& request) const override;
};

// The one storage domain below nfs_dir: a folder holding dom_md/metadata. Fails naming nfs_dir
// when nfs_dir is missing or contains no domain or more than one, or when its metadata names a
// class other than an export (Backup) domain.
Result<std::filesystem::path> findExportStorageDomain(const std::filesystem::path& nfs_dir);

}  // namespace imagefactory
