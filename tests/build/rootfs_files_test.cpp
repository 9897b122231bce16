#include "build/rootfs_files.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace imagefactory {
namespace {

namespace fs = std::filesystem;

class RootfsFilesTest : public ::testing::Test {
  protected:
    void SetUp() override {
        base_ = fs::temp_directory_path() /
                ("if-rootfs-" + std::to_string(getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(base_);
        root_ = base_ / "root";
        outside_ = base_ / "outside";
        fs::create_directories(root_ / "etc");
        fs::create_directories(outside_);
    }
    void TearDown() override { fs::remove_all(base_); }

    static std::string read(const fs::path& path) {
        std::ifstream in(path);
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }

    fs::path base_;
    fs::path root_;
    fs::path outside_;
};

TEST_F(RootfsFilesTest, WritesFileAndCreatesParents) {
    RootfsFiles files(root_);
    ASSERT_TRUE(files.writeFile("/opt/a/b/c.txt", "hello").ok());
    EXPECT_EQ(read(root_ / "opt/a/b/c.txt"), "hello");
    EXPECT_TRUE(files.exists("/opt/a/b/c.txt"));
    EXPECT_EQ(*files.readFile("/opt/a/b/c.txt"), "hello");
}

TEST_F(RootfsFilesTest, AbsoluteSymlinkStaysInsideRoot) {
    fs::create_symlink(outside_, root_ / "etc" / "escape");
    fs::create_directories(root_ / outside_.relative_path());
    RootfsFiles files(root_);
    ASSERT_TRUE(files.writeFile("/etc/escape/file", "x").ok());
    EXPECT_FALSE(fs::exists(outside_ / "file"));
    // The link's target is read as a path of the guest, so the file lands under root.
    EXPECT_TRUE(fs::exists(root_ / outside_.relative_path() / "file"));
}

TEST_F(RootfsFilesTest, DotDotStaysInsideRoot) {
    RootfsFiles files(root_);
    ASSERT_TRUE(files.writeFile("/etc/../../../outside/file", "x").ok());
    EXPECT_FALSE(fs::exists(outside_ / "file"));
    EXPECT_TRUE(fs::exists(root_ / "outside" / "file"));
}

TEST_F(RootfsFilesTest, RelativeSymlinkLeafStaysInsideRoot) {
    fs::create_symlink("../../outside/target", root_ / "etc" / "leaf");
    fs::create_directories(root_ / "outside");
    std::ofstream(root_ / "outside" / "target") << "old";
    std::ofstream(outside_ / "target") << "host";
    RootfsFiles files(root_);
    ASSERT_TRUE(files.writeFile("/etc/leaf", "new").ok());
    EXPECT_EQ(read(outside_ / "target"), "host");
    EXPECT_EQ(read(root_ / "outside" / "target"), "new");
}

TEST_F(RootfsFilesTest, DanglingSymlinkOutsideFailsSafely) {
    fs::create_symlink(outside_, root_ / "etc" / "escape");
    RootfsFiles files(root_);
    EXPECT_FALSE(files.writeFile("/etc/escape/file", "x").ok());
    EXPECT_FALSE(fs::exists(outside_ / "file"));
}

TEST_F(RootfsFilesTest, RejectsRelativePath) {
    RootfsFiles files(root_);
    auto status = files.writeFile("etc/x", "x");
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, ErrorCode::UserInput);
}

TEST_F(RootfsFilesTest, RemoveDeletesSymlinkNotTarget) {
    std::ofstream(outside_ / "keep") << "keep";
    fs::create_symlink(outside_ / "keep", root_ / "etc" / "link");
    RootfsFiles files(root_);
    ASSERT_TRUE(files.remove("/etc/link").ok());
    EXPECT_FALSE(fs::is_symlink(root_ / "etc" / "link"));
    EXPECT_TRUE(fs::exists(outside_ / "keep"));
    EXPECT_TRUE(files.remove("/etc/absent").ok());
}

TEST_F(RootfsFilesTest, ReadMissingIsNotFound) {
    RootfsFiles files(root_);
    auto content = files.readFile("/etc/nothing");
    ASSERT_FALSE(content.ok());
    EXPECT_EQ(content.error().code, ErrorCode::NotFound);
}

TEST(ShadowTest, SetsRootHash) {
    auto shadow = setShadowRootHash("root:*:20000:0:99999:7:::\ndaemon:*:20000::::::\n", "$6$s$h");
    ASSERT_TRUE(shadow.ok());
    EXPECT_EQ(*shadow, "root:$6$s$h:20000:0:99999:7:::\ndaemon:*:20000::::::\n");
}

TEST(ShadowTest, EmptyHashLocksRoot) {
    auto shadow = setShadowRootHash("root:$6$old:20000:0:99999:7:::\n", "");
    ASSERT_TRUE(shadow.ok());
    EXPECT_EQ(*shadow, "root:!:20000:0:99999:7:::\n");
}

TEST(ShadowTest, RejectsShadowWithoutRoot) {
    EXPECT_FALSE(setShadowRootHash("daemon:*:1::::::\n", "x").ok());
}

}  // namespace
}  // namespace imagefactory
