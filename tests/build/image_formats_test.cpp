#include "build/image_formats.hpp"

#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fstream>

#include "build/digest.hpp"
#include "build/disk_layout.hpp"

namespace imagefactory {
namespace {

namespace fs = std::filesystem;

void putBe32(uint8_t* at, uint32_t value) {
    for (int i = 0; i < 4; ++i) {
        at[i] = static_cast<uint8_t>(value >> (24 - 8 * i));
    }
}

void putBe64(uint8_t* at, uint64_t value) {
    putBe32(at, static_cast<uint32_t>(value >> 32));
    putBe32(at + 4, static_cast<uint32_t>(value));
}

// A fixed-disk footer as the VHD specification lays it out, with a correct checksum.
std::array<uint8_t, 512> makeFooter(uint64_t size, uint32_t type = kVhdFixed) {
    std::array<uint8_t, 512> footer{};
    std::memcpy(footer.data(), "conectix", 8);
    putBe32(footer.data() + 8, 2);
    putBe32(footer.data() + 12, 0x00010000);
    putBe64(footer.data() + 16, ~uint64_t{0});
    putBe64(footer.data() + 40, size);
    putBe64(footer.data() + 48, size);
    putBe32(footer.data() + 60, type);
    uint32_t sum = 0;
    for (uint8_t byte : footer) {
        sum += byte;
    }
    putBe32(footer.data() + 64, ~sum);
    return footer;
}

class ImageFormatsTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("if-formats-" + std::to_string(getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path writeFile(const std::string& name, const std::string& content) {
        fs::path path = dir_ / name;
        std::ofstream(path, std::ios::binary) << content;
        return path;
    }

    // A 2 MiB "disk" with an MBR boot signature.
    fs::path fakeDisk() {
        std::string disk(2 * kMiB, '\0');
        disk[510] = static_cast<char>(0x55);
        disk[511] = static_cast<char>(0xAA);
        return writeFile("disk.raw", disk);
    }

    fs::path fixedVhd(uint64_t size, std::array<uint8_t, 512> footer) {
        fs::path path = dir_ / "disk.vhd";
        std::ofstream out(path, std::ios::binary);
        out << std::string(size, '\0');
        out.write(reinterpret_cast<const char*>(footer.data()), 512);
        return path;
    }

    fs::path dir_;
    std::shared_ptr<spdlog::logger> logger_ = std::make_shared<spdlog::logger>(
        "formats-test", std::make_shared<spdlog::sinks::null_sink_mt>());
    ProcessRunner runner_{logger_, nullptr};
};

TEST_F(ImageFormatsTest, ParsesVhdFooter) {
    auto footer = parseVhdFooter(makeFooter(2ull << 30));
    ASSERT_TRUE(footer.ok());
    EXPECT_EQ(footer->cookie, "conectix");
    EXPECT_EQ(footer->current_size, 2ull << 30);
    EXPECT_EQ(footer->disk_type, kVhdFixed);
    EXPECT_EQ(footer->data_offset, ~uint64_t{0});
    EXPECT_EQ(footer->checksum, footer->computed_checksum);
}

TEST_F(ImageFormatsTest, DetectsVhdChecksumMismatch) {
    auto bytes = makeFooter(kMiB);
    bytes[100] ^= 1;
    auto footer = parseVhdFooter(bytes);
    ASSERT_TRUE(footer.ok());
    EXPECT_NE(footer->checksum, footer->computed_checksum);
}

TEST_F(ImageFormatsTest, RejectsFooterWithoutCookie) {
    std::array<uint8_t, 512> bytes{};
    EXPECT_FALSE(parseVhdFooter(bytes).ok());
}

TEST_F(ImageFormatsTest, AcceptsFixedVhd) {
    EXPECT_TRUE(checkFixedVhd(fixedVhd(kMiB, makeFooter(kMiB))).ok());
}

TEST_F(ImageFormatsTest, FixedVhdRulesNameTheBrokenRule) {
    struct Case {
        const char* name;
        uint64_t data_bytes;
        std::array<uint8_t, 512> footer;
        const char* rule;
    };
    auto corrupt = makeFooter(kMiB);
    corrupt[200] ^= 0xFF;
    const Case cases[] = {
        {"checksum", kMiB, corrupt, "VHD footer checksum"},
        {"dynamic", kMiB, makeFooter(kMiB, 3), "VHD is fixed"},
        {"unaligned", kMiB + 512, makeFooter(kMiB + 512), "whole number of MiB"},
        {"size mismatch", 2 * kMiB, makeFooter(kMiB), "VHD size matches the file"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        Status status = checkFixedVhd(fixedVhd(c.data_bytes, c.footer));
        ASSERT_FALSE(status.ok());
        EXPECT_NE(status.error().message.find(c.rule), std::string::npos) << status.error().message;
    }
}

TEST_F(ImageFormatsTest, OvfIsWellFormedAndReferencesDisk) {
    std::string ovf = ovfDescriptor({"deb<12>&", "deb-disk1.vmdk", 1234, 2ull << 30});
    xmlDocPtr doc = xmlReadMemory(ovf.data(), static_cast<int>(ovf.size()), "x.ovf", nullptr,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR);
    ASSERT_NE(doc, nullptr);
    xmlFreeDoc(doc);
    EXPECT_NE(ovf.find("ovf:href=\"deb-disk1.vmdk\" ovf:id=\"file1\" ovf:size=\"1234\""),
              std::string::npos);
    EXPECT_NE(ovf.find("ovf:capacity=\"2147483648\""), std::string::npos);
    EXPECT_NE(ovf.find("#streamOptimized"), std::string::npos);
    EXPECT_NE(ovf.find("<Name>deb&lt;12&gt;&amp;</Name>"), std::string::npos);
}

TEST_F(ImageFormatsTest, ManifestListsSha256PerFile) {
    EXPECT_EQ(ovaManifest({{"a.ovf", "00ff"}, {"a-disk1.vmdk", "abcd"}}),
              "SHA256(a.ovf)= 00ff\nSHA256(a-disk1.vmdk)= abcd\n");
}

TEST_F(ImageFormatsTest, GceTarballHoldsDiskRawOnly) {
    fs::path disk = fakeDisk();
    fs::path tarball = dir_ / "disk.tar.gz";
    ASSERT_TRUE(writeGceTarball(tarball, disk).ok());
    std::string format;
    std::string filter;
    auto members = readTar(tarball, &format, &filter);
    ASSERT_TRUE(members.ok());
    ASSERT_EQ(members->size(), 1u);
    EXPECT_EQ((*members)[0].name, "disk.raw");
    EXPECT_EQ((*members)[0].size, 2 * kMiB);
    EXPECT_EQ((*members)[0].sha256, *sha256File(disk));
    EXPECT_EQ(filter, "gzip");
    EXPECT_NE(format.find("GNU"), std::string::npos);
    EXPECT_TRUE(checkGceTarball(tarball, 2 * kMiB).ok());
}

TEST_F(ImageFormatsTest, GceCheckRejectsWrongMemberAndCompression) {
    fs::path disk = fakeDisk();
    fs::path plain = dir_ / "plain.tar";
    ASSERT_TRUE(writeUstarTar(plain, {{"disk.raw", disk}}).ok());
    Status uncompressed = checkGceTarball(plain, 2 * kMiB);
    ASSERT_FALSE(uncompressed.ok());
    EXPECT_NE(uncompressed.error().message.find("gzip"), std::string::npos);

    fs::path tarball = dir_ / "disk.tar.gz";
    ASSERT_TRUE(writeGceTarball(tarball, disk).ok());
    Status wrong_size = checkGceTarball(tarball, 4 * kMiB);
    ASSERT_FALSE(wrong_size.ok());
    EXPECT_NE(wrong_size.error().message.find("disk's size"), std::string::npos);
}

TEST_F(ImageFormatsTest, OvaCheckRejectsWrongOrderAndDigest) {
    fs::path ovf = writeFile("a.ovf", ovfDescriptor({"a", "a-disk1.vmdk", 4, kMiB}));
    fs::path vmdk = writeFile("a-disk1.vmdk", "KDMV");
    fs::path manifest = writeFile(
        "a.mf", ovaManifest({{"a.ovf", *sha256File(ovf)}, {"a-disk1.vmdk", *sha256File(vmdk)}}));
    fs::path wrong_order = dir_ / "order.ova";
    ASSERT_TRUE(
        writeUstarTar(wrong_order, {{"a.mf", manifest}, {"a.ovf", ovf}, {"a-disk1.vmdk", vmdk}})
            .ok());
    Status order = checkOva(wrong_order);
    ASSERT_FALSE(order.ok());
    EXPECT_NE(order.error().message.find("OVF descriptor first"), std::string::npos);

    fs::path bad_manifest =
        writeFile("bad.mf", ovaManifest({{"a.ovf", "00"}, {"a-disk1.vmdk", "00"}}));
    fs::path bad_digest = dir_ / "digest.ova";
    ASSERT_TRUE(
        writeUstarTar(bad_digest, {{"a.ovf", ovf}, {"a.mf", bad_manifest}, {"a-disk1.vmdk", vmdk}})
            .ok());
    Status digest = checkOva(bad_digest);
    ASSERT_FALSE(digest.ok());
    EXPECT_NE(digest.error().message.find("manifest digests match"), std::string::npos);

    fs::path good = dir_ / "good.ova";
    ASSERT_TRUE(
        writeUstarTar(good, {{"a.ovf", ovf}, {"a.mf", manifest}, {"a-disk1.vmdk", vmdk}}).ok());
    Status not_stream = checkOva(good);
    ASSERT_FALSE(not_stream.ok());
    EXPECT_NE(not_stream.error().message.find("streamOptimized"), std::string::npos);
}

TEST_F(ImageFormatsTest, QcowVerifierRejectsRawFile) {
    fs::path disk = fakeDisk();
    Status status = verifyImage(runner_, disk, ImageFormat::Qcow2, 2 * kMiB);
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().message.find("qcow2 format"), std::string::npos);
}

TEST_F(ImageFormatsTest, RawVerifierRejectsDiskWithoutGpt) {
    Status status = verifyImage(runner_, fakeDisk(), ImageFormat::Raw, 2 * kMiB);
    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().message.find("GPT"), std::string::npos);
}

TEST_F(ImageFormatsTest, ConvertsAndVerifiesRealFormats) {
    fs::path disk = fakeDisk();
    // A GPT header makes the small disk pass the raw check too.
    std::ofstream(disk, std::ios::binary | std::ios::in | std::ios::out).seekp(512) << "EFI PART";
    for (ImageFormat format : {ImageFormat::Qcow2, ImageFormat::Raw, ImageFormat::VhdFixed,
                               ImageFormat::Vhdx, ImageFormat::Ova, ImageFormat::GceTarball}) {
        SCOPED_TRACE(imageFileName(format));
        fs::path output = dir_ / ("out-" + imageFileName(format));
        ASSERT_TRUE(convertImage(runner_, disk, format, output, "test").ok());
        Status status = verifyImage(runner_, output, format, 2 * kMiB);
        EXPECT_TRUE(status.ok()) << status.error().message;
    }
}

}  // namespace
}  // namespace imagefactory
