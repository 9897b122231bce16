#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "build/target.hpp"

namespace imagefactory {

struct ImageTargetOptions {
    // Base images go to <data_dir>/base_images, downloaded .debs to <data_dir>/deb_cache/<suite>.
    // Job work folders must be on the same file system, so that finished base images are
    // installed by rename.
    std::filesystem::path data_dir;
    std::string security_mirror = "http://deb.debian.org/debian-security";
    // Used when the template has no <disk><size>; rounded up to a whole MiB.
    uint64_t default_disk_bytes = 2ull << 30;
    // Boot every image in QEMU unless the request's parameters say {"boot_check": false}.
    bool boot_check = false;
    // Per boot. Under TCG on a busy 2-core host a first boot (with SSH host key generation) took
    // about four minutes to reach the marker.
    std::chrono::seconds boot_timeout{600};
};

// Registers the Debian image targets: openstack-kvm, rhevm and libvirt (qcow2), ec2 (raw),
// vsphere (OVA with a streamOptimized VMDK), azure (fixed VHD), hyperv (VHDX), gce (tar.gz)
// and condorcloud (raw plus a libvirt domain XML in the target image's parameters).
void registerImageTargets(TargetRegistry& registry, const ImageTargetOptions& options);

}  // namespace imagefactory
