#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/error.hpp"

namespace imagefactory {

// The settings of a libvirt provider definition, with defaults filled in.
struct LibvirtSettings {
    std::string uri;                   // e.g. qemu:///system
    std::string pool;                  // storage pool that receives the volumes
    std::string domain_type = "qemu";  // "qemu" (TCG) or "kvm"; never probed
    int64_t memory_mib = 1024;
    int64_t vcpus = 1;
    std::string firmware = "efi";               // "efi" or "bios"
    bool secure_boot = false;                   // efi only
    std::optional<std::string> network;         // libvirt network name; none means no NIC
    std::optional<std::string> serial_log_dir;  // serial console file dir; none means a pty
};

// Reads and checks the settings object of a libvirt provider definition. Errors name the key
// and the value at fault.
Result<LibvirtSettings> parseLibvirtSettings(const nlohmann::json& settings);

// The persistent domain defined for a pushed volume: q35, virtio disk from the pool, no
// graphics, and a serial console on a pty or in serial_log_dir/<name>.serial.log.
std::string pushedDomainXml(const LibvirtSettings& settings, const std::string& name,
                            const std::string& volume, const std::string& volume_format,
                            const std::string& description);

}  // namespace imagefactory
