#include "build/disk_layout.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace imagefactory {
namespace {

TEST(DiskLayoutTest, PlacesPartitionsOnMiBBoundaries) {
    auto layout = computeDiskLayout(2ull << 30, 0);
    ASSERT_TRUE(layout.ok());
    EXPECT_EQ(layout->disk_bytes, 2ull << 30);
    EXPECT_EQ(layout->bios.start_sector, 2048u);
    EXPECT_EQ(layout->bios.size_sectors, 2048u);
    EXPECT_EQ(layout->esp.start_sector, 4096u);
    EXPECT_EQ(layout->esp.size_sectors, 260096u);
    EXPECT_EQ(layout->root.start_sector, 264192u);
    EXPECT_EQ(layout->root.offsetBytes(), 135266304u);
    // 2 GiB = 4194304 sectors; the last MiB stays free for the backup GPT.
    EXPECT_EQ(layout->root.start_sector + layout->root.size_sectors, 4194304u - 2048u);
    for (const PartitionExtent* part : {&layout->bios, &layout->esp, &layout->root}) {
        EXPECT_EQ(part->offsetBytes() % kMiB, 0u) << part->name;
        EXPECT_EQ(part->sizeBytes() % kMiB, 0u) << part->name;
    }
}

TEST(DiskLayoutTest, RoundsSizeUpToWholeMiB) {
    auto layout = computeDiskLayout(2000000000, 0);
    ASSERT_TRUE(layout.ok());
    EXPECT_EQ(layout->disk_bytes % kMiB, 0u);
    EXPECT_GE(layout->disk_bytes, 2000000000u);
    EXPECT_LT(layout->disk_bytes - 2000000000u, kMiB);
}

TEST(DiskLayoutTest, RejectsDiskSmallerThanRoot) {
    auto layout = computeDiskLayout(1ull << 30, 2ull << 30);
    ASSERT_FALSE(layout.ok());
    EXPECT_EQ(layout.error().code, ErrorCode::UserInput);
    EXPECT_NE(layout.error().message.find("1073741824"), std::string::npos);
}

TEST(DiskLayoutTest, RejectsDiskWithoutRoomForRoot) {
    EXPECT_FALSE(computeDiskLayout(129 * kMiB, 0).ok());
}

TEST(DiskLayoutTest, SfdiskScriptListsThreePartitions) {
    auto layout = computeDiskLayout(2ull << 30, 0);
    ASSERT_TRUE(layout.ok());
    std::string script = sfdiskScript(*layout);
    EXPECT_NE(script.find("label: gpt"), std::string::npos);
    EXPECT_NE(script.find("start=2048, size=2048, type=" + std::string(kBiosBootType)),
              std::string::npos);
    EXPECT_NE(script.find("start=4096, size=260096, type=" + std::string(kEspType)),
              std::string::npos);
    EXPECT_NE(script.find("start=264192, size=3928064, type=" + std::string(kLinuxRootX8664Type)),
              std::string::npos);
    EXPECT_NE(script.find("uuid=" + layout->root.uuid), std::string::npos);
}

std::vector<uint8_t> fakeCore(size_t bytes) {
    std::vector<uint8_t> core(bytes, 0xAB);
    uint16_t length = static_cast<uint16_t>((bytes + 511) / 512 - 1);
    core[kCoreBlocklistLength] = static_cast<uint8_t>(length);
    core[kCoreBlocklistLength + 1] = static_cast<uint8_t>(length >> 8);
    return core;
}

TEST(BiosPatchTest, CoreBlocklistStartsAfterCore) {
    std::vector<uint8_t> core = fakeCore(145957);
    ASSERT_TRUE(patchCoreImage(core, 2048).ok());
    EXPECT_EQ(getLe64(core.data() + 0x1F4), 2049u);
    EXPECT_EQ(core[0x1F3], 0xAB);
    EXPECT_EQ(core[0x1FC], 0x1D);
    EXPECT_EQ(core[0x1FD], 0x01);
}

TEST(BiosPatchTest, RejectsCoreWithWrongBlocklistLength) {
    std::vector<uint8_t> core = fakeCore(145957);
    core.resize(core.size() + 2048);
    EXPECT_FALSE(patchCoreImage(core, 2048).ok());
}

TEST(BiosPatchTest, RejectsTinyCore) {
    std::vector<uint8_t> core(100, 0);
    EXPECT_FALSE(patchCoreImage(core, 2048).ok());
}

TEST(BiosPatchTest, BootSectorKeepsPartitionTable) {
    std::vector<uint8_t> boot(512, 0x11);
    boot[510] = 0x55;
    boot[511] = 0xAA;
    std::array<uint8_t, 512> mbr{};
    for (size_t i = 440; i < 512; ++i) {
        mbr[i] = 0xEE;
    }
    ASSERT_TRUE(patchBootSector(mbr, boot, 2048).ok());
    EXPECT_EQ(mbr[0], 0x11);
    EXPECT_EQ(mbr[439], 0x11);
    EXPECT_EQ(mbr[440], 0xEE);
    EXPECT_EQ(mbr[511], 0xEE);
    EXPECT_EQ(getLe64(mbr.data() + 0x5C), 2048u);
    EXPECT_EQ(mbr[0x66], 0x90);
    EXPECT_EQ(mbr[0x67], 0x90);
}

TEST(BiosPatchTest, RejectsBootImageWithoutSignature) {
    std::vector<uint8_t> boot(512, 0);
    std::array<uint8_t, 512> mbr{};
    EXPECT_FALSE(patchBootSector(mbr, boot, 2048).ok());
}

// The real GRUB boot.img from grub-pc-bin: the fields patched must hold what grub-setup
// replaces (the default kernel sector 1 and a short jump at the drive check).
TEST(BiosPatchTest, MatchesInstalledGrubBootImage) {
    std::ifstream in("/usr/lib/grub/i386-pc/boot.img", std::ios::binary);
    if (!in) {
        GTEST_SKIP() << "grub-pc-bin is not installed";
    }
    std::vector<uint8_t> boot((std::istreambuf_iterator<char>(in)), {});
    ASSERT_EQ(boot.size(), 512u);
    EXPECT_EQ(getLe64(boot.data() + 0x5C), 1u);
    EXPECT_EQ(boot[0x66], 0xEB);
}

}  // namespace
}  // namespace imagefactory
