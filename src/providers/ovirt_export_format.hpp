#pragma once

#include <cstdint>
#include <ctime>
#include <string>

#include "core/error.hpp"

namespace imagefactory {

// The files of one VM in an oVirt (RHEV) export storage domain, from which the engine imports
// it:
//   <sd>/images/<image group>/<volume>        the disk
//   <sd>/images/<image group>/<volume>.meta   vdsm volume metadata, KEY=VALUE lines
//   <sd>/master/vms/<vm>/<vm>.ovf             the VM description, an OVF 0.9 envelope

// The all-zero UUID oVirt uses for "no parent volume", "blank template" and "no pool".
inline constexpr const char* kNullUuid = "00000000-0000-0000-0000-000000000000";

struct OvirtExportDisk {
    std::string storage_domain_id;
    std::string image_group_id;
    std::string volume_id;
    std::string format;         // "qcow2" or "raw", as QEMU names it
    uint64_t virtual_size = 0;  // bytes; a multiple of 512
    uint64_t actual_size = 0;   // bytes the volume file takes
};

struct OvirtExportVm {
    std::string vm_id;
    std::string name;
    std::string description;
    int cpus = 1;
    int memory_mib = 1024;
    std::time_t created = 0;
};

// The volume's .meta file. Fails with UserInput when the format is neither qcow2 nor raw or the
// virtual size is not a whole number of 512-byte sectors.
Result<std::string> ovirtVolumeMetadata(const OvirtExportDisk& disk, const std::string& description,
                                        std::time_t created);

// The VM's .ovf file: one bootable VirtIO disk, the given CPUs and memory, based on the blank
// template. Same errors as ovirtVolumeMetadata.
Result<std::string> ovirtVmOvf(const OvirtExportVm& vm, const OvirtExportDisk& disk);

// Sizes in the OVF's DiskSection are whole GiB, rounded up.
uint64_t bytesToGibRoundedUp(uint64_t bytes);

}  // namespace imagefactory
