#include "build/disk_assembler.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace imagefactory {
namespace {

namespace fs = std::filesystem;

TEST(GrubConfigTest, MainConfigBootsByUuidOnSerial) {
    std::string config = grubMainConfig("1234-uuid", "quiet net.ifnames=0");
    EXPECT_NE(config.find("search --no-floppy --fs-uuid --set=root 1234-uuid"), std::string::npos);
    EXPECT_NE(config.find("linux /vmlinuz root=UUID=1234-uuid ro console=tty0 "
                          "console=ttyS0,115200n8 quiet net.ifnames=0\n"),
              std::string::npos);
    EXPECT_NE(config.find("initrd /initrd.img"), std::string::npos);
    EXPECT_NE(config.find("serial --unit=0 --speed=115200"), std::string::npos);
}

TEST(GrubConfigTest, MainConfigWithoutExtraParameters) {
    std::string config = grubMainConfig("u", "");
    EXPECT_NE(config.find("console=ttyS0,115200n8\n"), std::string::npos);
}

TEST(GrubConfigTest, StageOneLoadsRootConfig) {
    EXPECT_EQ(grubStage1Config("u"),
              "search --no-floppy --fs-uuid --set=root u\nset prefix=($root)/boot/grub\n"
              "configfile $prefix/grub.cfg\n");
}

class CopyIntoAtTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("if-copy-" + std::to_string(getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    fs::path dir_;
};

TEST_F(CopyIntoAtTest, CopiesDataAtOffsetAndKeepsHoles) {
    fs::path source = dir_ / "esp.img";
    {
        std::ofstream out(source, std::ios::binary);
        out << "HEAD";
        out.seekp(3 * 1024 * 1024);
        out << "TAIL";
    }
    fs::path target = dir_ / "disk.raw";
    std::ofstream(target, std::ios::binary).close();
    fs::resize_file(target, 16 * 1024 * 1024);
    ASSERT_TRUE(copyIntoAt(source, target, 2 * 1024 * 1024).ok());

    auto head = readAt(target, 2 * 1024 * 1024, 4);
    auto tail = readAt(target, 5 * 1024 * 1024, 4);
    ASSERT_TRUE(head.ok());
    ASSERT_TRUE(tail.ok());
    EXPECT_EQ(std::string(head->begin(), head->end()), "HEAD");
    EXPECT_EQ(std::string(tail->begin(), tail->end()), "TAIL");
    EXPECT_EQ(fs::file_size(target), 16u * 1024 * 1024);
}

TEST_F(CopyIntoAtTest, ReadAtPastEndFails) {
    fs::path file = dir_ / "small";
    std::ofstream(file) << "abc";
    EXPECT_FALSE(readAt(file, 0, 10).ok());
}

}  // namespace
}  // namespace imagefactory
