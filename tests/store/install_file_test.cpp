#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store/image_store.hpp"
#include "store_test_support.hpp"

namespace imagefactory {
namespace {

namespace fs = std::filesystem;
using testing::readFile;
using testing::TempDir;
using testing::writeFile;

class InstallFileTest : public ::testing::Test {
  protected:
    void SetUp() override {
        Result<std::unique_ptr<ImageStore>> opened = openSqliteImageStore(dir_.path() / "data");
        ASSERT_TRUE(opened.ok()) << opened.error().message;
        store_ = std::move(opened.value());
    }

    // A finished file under the store's tmp directory, ready to install.
    fs::path finishedFile(const std::string& content) {
        fs::path path = store_->tmpDir() / ("finished-" + std::to_string(counter_++));
        writeFile(path, content);
        return path;
    }

    TempDir dir_;
    std::unique_ptr<ImageStore> store_;
    int counter_ = 0;
};

TEST_F(InstallFileTest, MovesFileIntoNewDirectories) {
    fs::path finished = finishedFile("image body");

    Result<fs::path> installed = store_->installFile(finished, "images/ab/body.qcow2");
    ASSERT_TRUE(installed.ok()) << installed.error().message;
    EXPECT_EQ(installed.value(), store_->dataDir() / "images/ab/body.qcow2");
    EXPECT_EQ(readFile(installed.value()), "image body");
    EXPECT_FALSE(fs::exists(finished));
}

TEST_F(InstallFileTest, ReplacesExistingFile) {
    ASSERT_TRUE(store_->installFile(finishedFile("old"), "body").ok());

    Result<fs::path> installed = store_->installFile(finishedFile("new"), "body");
    ASSERT_TRUE(installed.ok()) << installed.error().message;
    EXPECT_EQ(readFile(installed.value()), "new");
}

TEST_F(InstallFileTest, RejectsHostilePaths) {
    const std::vector<std::string> hostile = {
        "../x",
        "/etc/passwd",
        "a/../../b",
        "..",
        "a/..",
        "./a",
        "a/./b",
        "a//b",
        "a/",
        "",
        "imagefactory.db",
        "tmp",
        "tmp/x",
        "lock",
        "imagefactory.db-wal",
    };
    for (const std::string& relative : hostile) {
        fs::path finished = finishedFile("body");

        Result<fs::path> installed = store_->installFile(finished, relative);
        ASSERT_FALSE(installed.ok()) << "accepted \"" << relative << "\"";
        EXPECT_EQ(installed.error().code, ErrorCode::UserInput) << relative;
        if (!relative.empty()) {
            EXPECT_NE(installed.error().message.find(relative), std::string::npos)
                << installed.error().message;
        }
        EXPECT_TRUE(fs::exists(finished)) << relative;
    }
    EXPECT_FALSE(fs::exists(dir_.path() / "x"));
    EXPECT_FALSE(fs::exists(dir_.path() / "b"));
}

TEST_F(InstallFileTest, RejectsPathWithNulByte) {
    std::string relative("a\0b", 3);

    Result<fs::path> installed = store_->installFile(finishedFile("body"), relative);
    ASSERT_FALSE(installed.ok());
    EXPECT_EQ(installed.error().code, ErrorCode::UserInput);
}

TEST_F(InstallFileTest, RejectsSymbolicLinkOutOfDataDir) {
    fs::path outside = dir_.path() / "outside";
    fs::create_directory(outside);
    fs::create_directory_symlink(outside, store_->dataDir() / "images");
    fs::path finished = finishedFile("body");

    Result<fs::path> installed = store_->installFile(finished, "images/body");
    ASSERT_FALSE(installed.ok());
    EXPECT_EQ(installed.error().code, ErrorCode::UserInput);
    EXPECT_NE(installed.error().message.find("images/body"), std::string::npos)
        << installed.error().message;
    EXPECT_FALSE(fs::exists(outside / "body"));
}

TEST_F(InstallFileTest, RejectsMissingFinishedFile) {
    fs::path missing = store_->tmpDir() / "never-written";

    Result<fs::path> installed = store_->installFile(missing, "body");
    ASSERT_FALSE(installed.ok());
    EXPECT_NE(installed.error().message.find(missing.string()), std::string::npos)
        << installed.error().message;
}

TEST_F(InstallFileTest, RejectsDirectoryAsFinishedFile) {
    fs::path directory = store_->tmpDir() / "dir";
    fs::create_directory(directory);

    Result<fs::path> installed = store_->installFile(directory, "body");
    ASSERT_FALSE(installed.ok());
    EXPECT_EQ(installed.error().code, ErrorCode::UserInput);
    EXPECT_FALSE(fs::exists(store_->dataDir() / "body"));
}

TEST_F(InstallFileTest, RejectsPathThroughExistingFile) {
    ASSERT_TRUE(store_->installFile(finishedFile("a"), "plain").ok());

    Result<fs::path> installed = store_->installFile(finishedFile("b"), "plain/body");
    ASSERT_FALSE(installed.ok());
    EXPECT_NE(installed.error().message.find("plain/body"), std::string::npos)
        << installed.error().message;
}

}  // namespace
}  // namespace imagefactory
