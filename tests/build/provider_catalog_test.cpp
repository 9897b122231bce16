#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "build/mock_target.hpp"
#include "build/provider.hpp"
#include "core/uuid.hpp"

namespace imagefactory {
namespace {

namespace fs = std::filesystem;

class ProviderCatalogTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("provider-catalog-" + newUuid());
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    void write(const std::string& name, const std::string& text) {
        std::ofstream(dir_ / name) << text;
    }

    fs::path dir_;
};

TEST_F(ProviderCatalogTest, BuiltInPatterns) {
    ProviderCatalog catalog;
    auto ec2 = catalog.resolve("ec2-us-west-2");
    ASSERT_TRUE(ec2.ok());
    EXPECT_EQ(ec2->target, "ec2");
    EXPECT_EQ(ec2->name, "ec2-us-west-2");
    EXPECT_EQ(ec2->settings["region"], "us-west-2");
    EXPECT_EQ(catalog.resolve("rackspace")->target, "rackspace");
    auto mock = catalog.resolve("mock-east");
    ASSERT_TRUE(mock.ok());
    EXPECT_EQ(mock->target, "mock");
    EXPECT_EQ(mock->name, "mock-east");
}

TEST_F(ProviderCatalogTest, UnknownNameListsKnownOnesWithoutFallback) {
    ProviderCatalog catalog;
    catalog.add({"lab", "libvirt", {{"uri", "qemu:///system"}}});
    for (const char* argument :
         {"nebula", "condorcloud", "ec2-", "ec2-US", "mock/../x", "mock x"}) {
        auto resolved = catalog.resolve(argument);
        ASSERT_FALSE(resolved.ok()) << argument;
        EXPECT_EQ(resolved.error().code, ErrorCode::NotFound) << argument;
        EXPECT_NE(resolved.error().message.find("lab, ec2-<region>, rackspace, mock*"),
                  std::string::npos)
            << resolved.error().message;
    }
    EXPECT_FALSE(catalog.resolve("").ok());
}

TEST_F(ProviderCatalogTest, InlineJsonDefinition) {
    ProviderCatalog catalog;
    auto resolved = catalog.resolve(
        R"({"target": "libvirt", "name": "lab2", "uri": "qemu:///system", "vcpus": 2})");
    ASSERT_TRUE(resolved.ok()) << resolved.error().message;
    EXPECT_EQ(resolved->name, "lab2");
    EXPECT_EQ(resolved->target, "libvirt");
    EXPECT_EQ(resolved->settings, (nlohmann::json{{"uri", "qemu:///system"}, {"vcpus", 2}}));

    auto unnamed = catalog.resolve(R"({"target": "condorcloud"})");
    ASSERT_TRUE(unnamed.ok());
    EXPECT_EQ(unnamed->name, "condorcloud");
}

TEST_F(ProviderCatalogTest, InlineXmlDefinitionKeepsNumbersAndBooleans) {
    ProviderCatalog catalog;
    auto resolved = catalog.resolve(
        "<provider target='libvirt' name='lab' uri='qemu:///system' memory_mib='2048' "
        "secure_boot='true' pool='images'/>");
    ASSERT_TRUE(resolved.ok()) << resolved.error().message;
    EXPECT_EQ(resolved->name, "lab");
    EXPECT_EQ(resolved->settings["memory_mib"], 2048);
    EXPECT_EQ(resolved->settings["secure_boot"], true);
    EXPECT_EQ(resolved->settings["pool"], "images");
}

TEST_F(ProviderCatalogTest, BadInlineDefinitionsNeverQuoteValues) {
    ProviderCatalog catalog;
    for (const char* argument : {
             R"({"target": "rhevm", "password": "hunter2)",
             R"({"name": "x", "password": "hunter2"})",
             R"({"target": "../../etc", "password": "hunter2"})",
             R"(["hunter2"])",
             "<provider password='hunter2'/>",
             "<provider target='rhevm' password='hunter2'",
             "<!DOCTYPE p [<!ENTITY s 'hunter2'>]><provider target='mock'/>",
         }) {
        auto resolved = catalog.resolve(argument);
        ASSERT_FALSE(resolved.ok()) << argument;
        EXPECT_EQ(resolved.error().message.find("hunter2"), std::string::npos)
            << resolved.error().message;
    }
}

TEST_F(ProviderCatalogTest, UnrecognisedInlineDefinitionIsNotQuoted) {
    ProviderCatalog catalog;
    for (const char* argument : {
             "\xef\xbb\xbf{\"target\": \"rhevm\", \"password\": \"hunter2\"}",
             "\xc2\xa0{\"target\": \"rhevm\", \"password\": \"hunter2\"}",
             "'{\"target\": \"rhevm\", \"password\": \"hunter2\"}'",
             "rhevm password=hunter2",
         }) {
        auto resolved = catalog.resolve(argument);
        ASSERT_FALSE(resolved.ok()) << argument;
        EXPECT_EQ(resolved.error().code, ErrorCode::NotFound);
        EXPECT_EQ(resolved.error().message.find("hunter2"), std::string::npos)
            << resolved.error().message;
    }
    auto plain = catalog.resolve("nebula");
    ASSERT_FALSE(plain.ok());
    EXPECT_NE(plain.error().message.find("\"nebula\""), std::string::npos);
}

TEST_F(ProviderCatalogTest, InlineXmlKeepsNonCanonicalNumbersAsText) {
    ProviderCatalog catalog;
    auto resolved = catalog.resolve(
        "<provider target='libvirt' name='2024' uri='qemu:///system' pool='007' vcpus='-0' "
        "network='+5' memory_mib='-12'/>");
    ASSERT_TRUE(resolved.ok()) << resolved.error().message;
    EXPECT_EQ(resolved->name, "2024");
    EXPECT_EQ(resolved->settings["pool"], "007");
    EXPECT_EQ(resolved->settings["vcpus"], "-0");
    EXPECT_EQ(resolved->settings["network"], "+5");
    EXPECT_EQ(resolved->settings["memory_mib"], -12);
}

TEST_F(ProviderCatalogTest, DefinitionFileMustBeARegularFile) {
    fs::create_directory(dir_ / "providers.json");
    auto directory = ProviderCatalog::load(dir_);
    ASSERT_FALSE(directory.ok());
    EXPECT_NE(directory.error().message.find("not a regular file"), std::string::npos)
        << directory.error().message;
    fs::remove(dir_ / "providers.json");

    // Reading the link's target would never end.
    fs::create_symlink("/dev/zero", dir_ / "rhevm.json");
    auto device = ProviderCatalog::load(dir_);
    ASSERT_FALSE(device.ok());
    EXPECT_NE(device.error().message.find("rhevm.json"), std::string::npos);
    fs::remove(dir_ / "rhevm.json");

    fs::create_symlink("vsphere.json", dir_ / "vsphere.json");
    auto loop = ProviderCatalog::load(dir_);
    ASSERT_FALSE(loop.ok());
    EXPECT_NE(loop.error().message.find("vsphere.json"), std::string::npos);
}

TEST_F(ProviderCatalogTest, OversizedDefinitionFileIsRejected) {
    {
        std::ofstream out(dir_ / "providers.json");
        out << "{\"pad\": \"" << std::string(17 * 1024 * 1024, 'x') << "\"}";
    }
    auto catalog = ProviderCatalog::load(dir_);
    ASSERT_FALSE(catalog.ok());
    EXPECT_NE(catalog.error().message.find("larger than 16 MiB"), std::string::npos)
        << catalog.error().message;
}

TEST_F(ProviderCatalogTest, LoadsDefinitionFilesFromFolder) {
    write("providers.json",
          R"({"lab": {"target": "libvirt", "uri": "qemu:///system", "pool": "default"},
              "condor": {"target": "condorcloud", "images_dir": "/srv/cloud"}})");
    write("rhevm.json", R"({"rhev-east": {"nfs-dir": "/mnt/export", "api-url": "https://h/api",
                              "password": "hunter2"}})");
    write("vsphere.json", R"({"vs1": {"api-url": "https://h/sdk", "datastore": "ds1"}})");
    auto catalog = ProviderCatalog::load(dir_);
    ASSERT_TRUE(catalog.ok()) << catalog.error().message;

    auto lab = catalog->resolve("lab");
    ASSERT_TRUE(lab.ok());
    EXPECT_EQ(lab->target, "libvirt");
    EXPECT_EQ(lab->settings["pool"], "default");
    auto rhev = catalog->resolve("rhev-east");
    ASSERT_TRUE(rhev.ok());
    EXPECT_EQ(rhev->target, "rhevm");
    EXPECT_EQ(rhev->name, "rhev-east");
    EXPECT_EQ(rhev->settings["nfs-dir"], "/mnt/export");
    EXPECT_EQ(catalog->resolve("vs1")->target, "vsphere");
    EXPECT_EQ(catalog->resolve("condor")->settings["images_dir"], "/srv/cloud");
}

TEST_F(ProviderCatalogTest, MissingFilesAreFine) {
    auto catalog = ProviderCatalog::load(dir_ / "absent");
    ASSERT_TRUE(catalog.ok());
    EXPECT_FALSE(catalog->resolve("lab").ok());
}

TEST_F(ProviderCatalogTest, BrokenFileIsAnErrorNamingItWithoutQuotingIt) {
    write("rhevm.json", R"({"rhev": {"password": "hunter2)");
    auto catalog = ProviderCatalog::load(dir_);
    ASSERT_FALSE(catalog.ok());
    EXPECT_NE(catalog.error().message.find("rhevm.json"), std::string::npos);
    EXPECT_EQ(catalog.error().message.find("hunter2"), std::string::npos);

    write("rhevm.json", "{}");
    write("providers.json", R"({"lab": {"uri": "qemu:///system"}})");
    catalog = ProviderCatalog::load(dir_);
    ASSERT_FALSE(catalog.ok());
    EXPECT_NE(catalog.error().message.find("\"lab\""), std::string::npos);
    EXPECT_NE(catalog.error().message.find("target"), std::string::npos);
}

TEST_F(ProviderCatalogTest, RegistryNamesTargetWithoutDriver) {
    ProviderRegistry registry;
    registry.add(std::make_shared<MockProviderDriver>(dir_));
    auto mock = registry.resolve("mock-1");
    ASSERT_TRUE(mock.ok());
    EXPECT_EQ(mock->first->target(), "mock");
    auto ec2 = registry.resolve("ec2-us-east-1");
    ASSERT_FALSE(ec2.ok());
    EXPECT_NE(ec2.error().message.find("target ec2"), std::string::npos) << ec2.error().message;
    EXPECT_NE(ec2.error().message.find("pushes to mock"), std::string::npos);
}

// The README points operators at examples/providers.json: it must stay loadable.
TEST_F(ProviderCatalogTest, ExampleDefinitionsLoad) {
    fs::copy_file(fs::path(IF_SOURCE_DIR) / "examples" / "providers.json", dir_ / "providers.json");
    auto catalog = ProviderCatalog::load(dir_);
    ASSERT_TRUE(catalog.ok()) << catalog.error().message;
    EXPECT_EQ(catalog->resolve("lab-libvirt")->target, "libvirt");
    EXPECT_EQ(catalog->resolve("condor")->target, "condorcloud");
    EXPECT_EQ(catalog->resolve("rhev-export")->target, "rhevm");
}

}  // namespace
}  // namespace imagefactory
