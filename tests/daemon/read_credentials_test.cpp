#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/uuid.hpp"
#include "daemon/one_shot.hpp"

namespace imagefactory {
namespace {

namespace fs = std::filesystem;

constexpr const char* kXml =
    "<provider_credentials><mock_credentials><username>u</username>"
    "<password>ArgPw-77</password></mock_credentials></provider_credentials>";

TEST(ReadCredentialsTest, TakesXmlAsGiven) {
    auto read = readCredentials(kXml);
    ASSERT_TRUE(read.ok()) << read.error().message;
    EXPECT_EQ(*read, kXml);
}

TEST(ReadCredentialsTest, ReadsRegularFile) {
    fs::path file = fs::temp_directory_path() / ("creds-" + newUuid() + ".xml");
    std::ofstream(file) << kXml;
    auto read = readCredentials(file.string());
    fs::remove(file);
    ASSERT_TRUE(read.ok()) << read.error().message;
    EXPECT_EQ(*read, kXml);
}

// Whatever goes wrong, the message never repeats the secret text.
TEST(ReadCredentialsTest, RejectsWithoutQuoting) {
    fs::path big = fs::temp_directory_path() / ("creds-big-" + newUuid());
    std::ofstream(big) << std::string(2 << 20, 'x');
    const std::string password_only = "ArgPw-77";
    for (const std::string& argument :
         {password_only, std::string("/dev/zero"), fs::temp_directory_path().string(), big.string(),
          std::string(" <creds>ArgPw-77</creds>")}) {
        auto read = readCredentials(argument);
        ASSERT_FALSE(read.ok()) << argument;
        EXPECT_EQ(read.error().message.find("ArgPw"), std::string::npos) << read.error().message;
    }
    fs::remove(big);
}

}  // namespace
}  // namespace imagefactory
