#include "build/disk_layout.hpp"

#include "core/uuid.hpp"

namespace imagefactory {

void putLe64(uint8_t* at, uint64_t value) {
    for (int i = 0; i < 8; ++i) {
        at[i] = static_cast<uint8_t>(value >> (8 * i));
    }
}

uint64_t getLe64(const uint8_t* at) {
    uint64_t value = 0;
    for (int i = 7; i >= 0; --i) {
        value = (value << 8) | at[i];
    }
    return value;
}

uint32_t getLe32(const uint8_t* at) {
    return static_cast<uint32_t>(at[0]) | static_cast<uint32_t>(at[1]) << 8 |
           static_cast<uint32_t>(at[2]) << 16 | static_cast<uint32_t>(at[3]) << 24;
}

uint16_t getLe16(const uint8_t* at) {
    return static_cast<uint16_t>(at[0] | at[1] << 8);
}

Result<DiskLayout> computeDiskLayout(uint64_t requested_bytes, uint64_t min_root_bytes) {
    uint64_t overhead = (kRootStartSector + kTailSectors) * kSectorBytes;
    uint64_t min_root = (min_root_bytes + kMiB - 1) / kMiB * kMiB;
    uint64_t disk_bytes = (requested_bytes + kMiB - 1) / kMiB * kMiB;
    if (disk_bytes < overhead + min_root || disk_bytes < overhead + kMiB) {
        return userError("disk size " + std::to_string(requested_bytes) +
                         " bytes is too small: the image needs at least " +
                         std::to_string(std::max(overhead + min_root, overhead + kMiB)) +
                         " bytes (boot partitions plus the root file system)");
    }

    DiskLayout layout;
    layout.disk_bytes = disk_bytes;
    layout.disk_guid = newUuid();
    layout.bios = {"bios", std::string(kBiosBootType), newUuid(), kBiosStartSector, kBiosSectors};
    layout.esp = {"esp", std::string(kEspType), newUuid(), kEspStartSector, kEspSectors};
    uint64_t total_sectors = disk_bytes / kSectorBytes;
    layout.root = {"root", std::string(kLinuxRootX8664Type), newUuid(), kRootStartSector,
                   total_sectors - kRootStartSector - kTailSectors};
    return layout;
}

std::string sfdiskScript(const DiskLayout& layout) {
    std::string script =
        "label: gpt\nlabel-id: " + layout.disk_guid + "\nunit: sectors\nfirst-lba: 2048\n";
    for (const PartitionExtent* part : {&layout.bios, &layout.esp, &layout.root}) {
        script += "start=" + std::to_string(part->start_sector) +
                  ", size=" + std::to_string(part->size_sectors) + ", type=" + part->type_guid +
                  ", uuid=" + part->uuid + ", name=\"" + part->name + "\"\n";
    }
    return script;
}

Status patchCoreImage(std::vector<uint8_t>& core, uint64_t core_start_sector) {
    if (core.size() < kSectorBytes) {
        return userError("core.img has " + std::to_string(core.size()) +
                         " bytes, less than one sector");
    }
    uint64_t sectors = (core.size() + kSectorBytes - 1) / kSectorBytes;
    uint16_t length = getLe16(core.data() + kCoreBlocklistLength);
    if (length != sectors - 1) {
        return userError("core.img block list covers " + std::to_string(length) +
                         " sectors but the image has " + std::to_string(sectors - 1) +
                         " after its first; it is not an i386-pc core.img");
    }
    putLe64(core.data() + kCoreBlocklistStart, core_start_sector + 1);
    return okStatus();
}

Status patchBootSector(std::array<uint8_t, 512>& mbr, const std::vector<uint8_t>& boot_img,
                       uint64_t core_start_sector) {
    if (boot_img.size() != kSectorBytes || boot_img[510] != 0x55 || boot_img[511] != 0xAA) {
        return userError("boot.img is not a 512-byte boot sector");
    }
    std::copy(boot_img.begin(), boot_img.begin() + kMbrCodeBytes, mbr.begin());
    putLe64(mbr.data() + kBootKernelSector, core_start_sector);
    mbr[kBootDriveCheck] = 0x90;
    mbr[kBootDriveCheck + 1] = 0x90;
    return okStatus();
}

}  // namespace imagefactory
