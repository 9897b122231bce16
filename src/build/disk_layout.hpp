#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace imagefactory {

inline constexpr uint64_t kSectorBytes = 512;
inline constexpr uint64_t kMiB = 1024 * 1024;

// GPT partition type GUIDs, as sfdisk spells them.
inline constexpr std::string_view kBiosBootType = "21686148-6449-6E6F-744E-656564454649";
inline constexpr std::string_view kEspType = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
inline constexpr std::string_view kLinuxRootX8664Type = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709";

struct PartitionExtent {
    std::string name;
    std::string type_guid;
    std::string uuid;
    uint64_t start_sector = 0;
    uint64_t size_sectors = 0;

    uint64_t offsetBytes() const { return start_sector * kSectorBytes; }
    uint64_t sizeBytes() const { return size_sectors * kSectorBytes; }
};

// The hybrid BIOS + UEFI disk every Debian image gets: a 1 MiB BIOS boot partition for GRUB's
// core.img, a 127 MiB EFI system partition, and the root file system last so that clouds can
// grow it in place. Partitions are MiB-aligned; the last MiB stays free for the backup GPT.
struct DiskLayout {
    uint64_t disk_bytes = 0;  // a whole number of MiB
    std::string disk_guid;
    PartitionExtent bios;
    PartitionExtent esp;
    PartitionExtent root;
};

inline constexpr uint64_t kBiosStartSector = 2048;
inline constexpr uint64_t kBiosSectors = 2048;
inline constexpr uint64_t kEspStartSector = 4096;
inline constexpr uint64_t kEspSectors = 260096;
inline constexpr uint64_t kRootStartSector = kEspStartSector + kEspSectors;
inline constexpr uint64_t kTailSectors = 2048;

// The layout for a disk of at least requested_bytes (rounded up to a whole MiB) whose root
// partition holds at least min_root_bytes. UserInput when the disk is too small, naming both
// sizes. The GUIDs are fresh random ones.
Result<DiskLayout> computeDiskLayout(uint64_t requested_bytes, uint64_t min_root_bytes);

// The sfdisk input that creates layout's partition table.
std::string sfdiskScript(const DiskLayout& layout);

// Points GRUB's core.img at its own copy on disk: the first sector (diskboot) loads the rest
// from a block list whose start, a little-endian 64-bit sector number at 0x1F4, must be the
// sector after the one core.img starts at. Also checks that the block list length at 0x1FC
// covers the whole image. UserInput when core is not a valid i386-pc core.img.
Status patchCoreImage(std::vector<uint8_t>& core, uint64_t core_start_sector);

// Builds the MBR boot code: the first 440 bytes of GRUB's boot.img replace those of mbr (the
// partition table after them is kept), the 64-bit sector of core.img goes to 0x5C, and the
// boot-drive check at 0x66 becomes two NOPs so that the BIOS drive number is used as given.
Status patchBootSector(std::array<uint8_t, 512>& mbr, const std::vector<uint8_t>& boot_img,
                       uint64_t core_start_sector);

inline constexpr size_t kCoreBlocklistStart = 0x1F4;
inline constexpr size_t kCoreBlocklistLength = 0x1FC;
inline constexpr size_t kBootKernelSector = 0x5C;
inline constexpr size_t kBootDriveCheck = 0x66;
inline constexpr size_t kMbrCodeBytes = 440;

void putLe64(uint8_t* at, uint64_t value);
uint64_t getLe64(const uint8_t* at);
uint32_t getLe32(const uint8_t* at);
uint16_t getLe16(const uint8_t* at);

}  // namespace imagefactory
