#include "core/credentials.hpp"

#include <gtest/gtest.h>

namespace imagefactory {
namespace {

constexpr const char* kSecret = "s3cr3t-Pa55";

std::string wrap(const std::string& inner) {
    return "<provider_credentials>" + inner + "</provider_credentials>";
}

TEST(CredentialsTest, ElementNamesFollowTheOriginal) {
    EXPECT_EQ(credentialsElementFor("mock"), "mock_credentials");
    EXPECT_EQ(credentialsElementFor("rhevm"), "rhevm_credentials");
    EXPECT_EQ(credentialsElementFor("openstack-kvm"), "openstack_credentials");
    EXPECT_EQ(credentialsElementFor("some-cloud"), "some_cloud_credentials");
}

TEST(CredentialsTest, ReadsTrimmedFields) {
    auto parsed = parseProviderCredentials(
        wrap("<rhevm_credentials>\n  <username> admin@internal </username>\n"
             "  <password>" +
             std::string(kSecret) + "</password>\n</rhevm_credentials>"),
        "rhevm");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed->element, "rhevm_credentials");
    ASSERT_NE(parsed->find("username"), nullptr);
    EXPECT_EQ(parsed->find("username")->reveal(), "admin@internal");
    EXPECT_EQ(parsed->find("password")->reveal(), kSecret);
    EXPECT_EQ(parsed->find("tenant"), nullptr);
}

TEST(CredentialsTest, BlankFieldCountsAsMissing) {
    auto parsed = parseProviderCredentials(
        wrap("<mock_credentials><username>  </username></mock_credentials>"), "mock");
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->find("username"), nullptr);
}

TEST(CredentialsTest, BlankDocumentGivesNoCredentials) {
    auto parsed = parseProviderCredentials("  \n", "libvirt");
    ASSERT_TRUE(parsed.ok());
    EXPECT_TRUE(parsed->empty());
}

TEST(CredentialsTest, TextEntitiesAreDecoded) {
    auto parsed = parseProviderCredentials(
        wrap("<mock_credentials><password>a&amp;b&lt;c</password></mock_credentials>"), "mock");
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->find("password")->reveal(), "a&b<c");
}

// Every rejected document carries the secret; no message may repeat it, nor a fragment.
TEST(CredentialsTest, ErrorsNeverQuoteTheDocument) {
    const std::string secret = kSecret;
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"<provider_credentials><mock_credentials><password>" + secret +
             "</pasword></mock_credentials></provider_credentials>",
         "not well-formed"},
        {"<provider_credentials><mock_credentials><password>" + secret +
             "&undefined;</password></mock_credentials></provider_credentials>",
         "not well-formed"},
        {"<!DOCTYPE x [<!ENTITY e '" + secret + "'>]>" + wrap("<mock_credentials/>"), "DOCTYPE"},
        {"<creds><password>" + secret + "</password></creds>", "<provider_credentials>"},
        {wrap("<ec2_credentials><key>" + secret + "</key></ec2_credentials>"),
         "<mock_credentials>"},
        {wrap("<mock_credentials><password>" + secret +
              "</password></mock_credentials><mock_credentials/>"),
         "more than one"},
        {wrap("<mock_credentials><password>" + secret + "</password><password>" + secret +
              "</password></mock_credentials>"),
         "repeat <password>"},
        {wrap(""), "no <mock_credentials>"},
        {"pass=" + secret, "not well-formed"},
        {std::string("<provider_credentials>\xff") + secret, "UTF-8"},
    };
    for (const auto& [xml, expected] : cases) {
        auto parsed = parseProviderCredentials(xml, "mock");
        ASSERT_FALSE(parsed.ok()) << expected;
        EXPECT_EQ(parsed.error().code, ErrorCode::UserInput);
        EXPECT_NE(parsed.error().message.find(expected), std::string::npos)
            << parsed.error().message;
        EXPECT_EQ(parsed.error().message.find("s3cr"), std::string::npos) << parsed.error().message;
        EXPECT_EQ(parsed.error().message.find("undefined"), std::string::npos)
            << parsed.error().message;
    }
}

TEST(CredentialsTest, SecretCopiesAreIndependent) {
    Secret a("one");
    Secret b;
    b = a;
    a = Secret("two");
    EXPECT_EQ(b.reveal(), "one");
    EXPECT_EQ(a.reveal(), "two");
}

}  // namespace
}  // namespace imagefactory
