#include "providers/rhevm_export_driver.hpp"

#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include <map>
#include <sstream>

#include "core/template_xml.hpp"
#include "core/uuid.hpp"
#include "providers/ovirt_export_format.hpp"
#include "providers/provider_test_support.hpp"

namespace imagefactory {
namespace {

namespace fs = std::filesystem;
using test::listNames;
using test::readFile;
using test::RecordingJobContext;
using test::TempDir;

constexpr const char* kDomainId = "9d1a6f8e-52c4-4b0b-8f7e-3c2d1e0f9a8b";
constexpr const char* kPassword = "s3cret-Pa55word";
constexpr uint64_t kVirtualBytes = 1536ULL * 1024 * 1024;

ProviderCredentials credentials(const char* username, const char* password) {
    ProviderCredentials result;
    result.element = "rhevm_credentials";
    if (username) {
        result.fields["username"] = Secret(username);
    }
    if (password) {
        result.fields["password"] = Secret(password);
    }
    return result;
}

// The .meta file as a map of its KEY=VALUE lines; "EOF" maps to "" and "<last>" to the last line.
std::map<std::string, std::string> readMeta(const fs::path& path) {
    std::map<std::string, std::string> keys;
    std::istringstream in(readFile(path));
    std::string line;
    while (std::getline(in, line)) {
        size_t equals = line.find('=');
        keys[line.substr(0, equals)] = equals == std::string::npos ? "" : line.substr(equals + 1);
        keys["<last>"] = line;
    }
    return keys;
}

// XPath over an OVF document, with the ovf: and rasd: prefixes registered.
class OvfQuery {
  public:
    explicit OvfQuery(const fs::path& path) : doc_(xmlReadFile(path.c_str(), nullptr, 0)) {
        if (doc_) {
            context_ = xmlXPathNewContext(doc_.get());
            xmlXPathRegisterNs(context_, BAD_CAST "ovf",
                               BAD_CAST "http://schemas.dmtf.org/ovf/envelope/1/");
            xmlXPathRegisterNs(context_, BAD_CAST "rasd",
                               BAD_CAST
                               "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
                               "CIM_ResourceAllocationSettingData");
        }
    }
    ~OvfQuery() {
        if (context_) {
            xmlXPathFreeContext(context_);
        }
    }
    bool parsed() const { return doc_ != nullptr; }

    std::string text(const char* expression) const {
        xmlXPathObject* result = xmlXPathEvalExpression(BAD_CAST expression, context_);
        std::string value = "<none>";
        if (result && result->nodesetval && result->nodesetval->nodeNr > 0) {
            value = xmlText(result->nodesetval->nodeTab[0]);
        }
        xmlXPathFreeObject(result);
        return value;
    }

  private:
    XmlDocPtr doc_;
    xmlXPathContext* context_ = nullptr;
};

class RhevmExportDriverTest : public ::testing::Test {
  protected:
    void SetUp() override {
        nfs_ = temp_.path() / "export";
        domain_ = nfs_ / kDomainId;
        makeDomain(domain_, "Backup");
        fs::create_directories(domain_ / "images");
        fs::create_directories(domain_ / "master" / "vms");
        source_ = temp_.path() / "disk.qcow2";
        // 1.5 GiB virtual, 22 MiB of data: six chunks of the copy.
        test::makeQcow2(source_, 1536, 22);
        provider_.name = "rhevm-test";
        provider_.target = "rhevm";
        provider_.settings = {{"nfs-dir", nfs_.string()},    {"nfs-host", "127.0.0.1"},
                              {"nfs-path", "/exports/rhev"}, {"api-url", "https://127.0.0.1/api"},
                              {"cluster", "_any_"},          {"timeout", 1800}};
    }

    static void makeDomain(const fs::path& domain, const std::string& domain_class) {
        fs::create_directories(domain / "dom_md");
        test::writeFile(domain / "dom_md" / "metadata",
                        "CLASS=" + domain_class + "\nROLE=Regular\nVERSION=3\n");
    }

    PushRequest request() const {
        PushRequest push;
        push.image_id = "image-1";
        push.build_id = "build-1";
        push.target_image_id = "target-1";
        push.provider_image_id = "3e0c7d2a-1f4b-4e8d-a6c5-b9d8e7f6a5b4";
        push.provider = provider_;
        push.target_image_file = source_;
        push.target_image_parameters = R"({"format":"disk.qcow2"})";
        push.credentials = credentials("admin@internal", kPassword);
        return push;
    }

    // Entries of the domain other than those SetUp made.
    std::vector<std::string> leftovers() const {
        std::vector<std::string> found;
        for (const std::string& name : listNames(domain_)) {
            if (name != "dom_md" && name != "images" && name != "master") {
                found.push_back(name);
            }
        }
        for (const std::string& name : listNames(domain_ / "images")) {
            found.push_back("images/" + name);
        }
        for (const std::string& name : listNames(domain_ / "master" / "vms")) {
            found.push_back("master/vms/" + name);
        }
        return found;
    }

    TempDir temp_;
    fs::path nfs_;
    fs::path domain_;
    fs::path source_;
    ProviderDefinition provider_;
    RhevmExportDriver driver_;
};

TEST_F(RhevmExportDriverTest, PushLaysOutExportDomain) {
    RecordingJobContext context(temp_.path() / "work");
    Result<PushOutput> output = driver_.push(request(), context);
    ASSERT_TRUE(output.ok()) << output.error().message;

    const std::string vm = output->target_identifier;
    EXPECT_TRUE(isUuid(vm)) << vm;
    EXPECT_EQ(output->provider_account_identifier, "admin@internal");
    std::vector<std::string> groups = listNames(domain_ / "images");
    ASSERT_EQ(groups.size(), 1u);
    const std::string group = groups.front();
    std::vector<std::string> volume_files = listNames(domain_ / "images" / group);
    ASSERT_EQ(volume_files.size(), 2u);
    std::string volume = volume_files[0].ends_with(".meta") ? volume_files[1] : volume_files[0];
    const fs::path volume_path = domain_ / "images" / group / volume;
    EXPECT_EQ(readFile(volume_path), readFile(source_));
    EXPECT_EQ(listNames(domain_ / "master" / "vms"), std::vector<std::string>{vm});

    std::map<std::string, std::string> meta = readMeta(volume_path.string() + ".meta");
    EXPECT_EQ(meta["DOMAIN"], kDomainId);
    EXPECT_EQ(meta["IMAGE"], group);
    EXPECT_EQ(meta["PUUID"], kNullUuid);
    EXPECT_EQ(meta["VOLTYPE"], "LEAF");
    EXPECT_EQ(meta["FORMAT"], "COW");
    EXPECT_EQ(meta["TYPE"], "SPARSE");
    EXPECT_EQ(meta["LEGALITY"], "LEGAL");
    EXPECT_EQ(meta["SIZE"], std::to_string(kVirtualBytes / 512));
    EXPECT_FALSE(meta["CTIME"].empty());
    EXPECT_FALSE(meta["MTIME"].empty());
    EXPECT_FALSE(meta["DISKTYPE"].empty());
    EXPECT_NE(meta["DESCRIPTION"].find("3e0c7d2a"), std::string::npos);
    EXPECT_EQ(meta["<last>"], "EOF");

    OvfQuery ovf(domain_ / "master" / "vms" / vm / (vm + ".ovf"));
    ASSERT_TRUE(ovf.parsed());
    const std::string file_ref = group + "/" + volume;
    EXPECT_EQ(ovf.text("/ovf:Envelope/References/File/@ovf:href"), file_ref);
    EXPECT_EQ(ovf.text("/ovf:Envelope/References/File/@ovf:id"), volume);
    EXPECT_EQ(ovf.text("/ovf:Envelope/References/File/@ovf:size"), std::to_string(kVirtualBytes));
    EXPECT_EQ(ovf.text("//Section/Disk/@ovf:diskId"), volume);
    EXPECT_EQ(ovf.text("//Section/Disk/@ovf:fileRef"), file_ref);
    EXPECT_EQ(ovf.text("//Section/Disk/@ovf:size"), "2");
    EXPECT_EQ(ovf.text("//Section/Disk/@ovf:actual_size"),
              std::to_string(bytesToGibRoundedUp(fs::file_size(volume_path))));
    EXPECT_EQ(ovf.text("//Section/Disk/@ovf:volume-format"), "COW");
    EXPECT_EQ(ovf.text("//Section/Disk/@ovf:volume-type"), "Sparse");
    EXPECT_EQ(ovf.text("//Section/Disk/@ovf:disk-interface"), "VirtIO");
    EXPECT_EQ(ovf.text("//Section/Disk/@ovf:boot"), "true");
    EXPECT_EQ(ovf.text("/ovf:Envelope/Content/TemplateId"), kNullUuid);
    EXPECT_EQ(ovf.text("/ovf:Envelope/Content/Name"),
              "imagefactory-" + request().provider_image_id);
    EXPECT_NE(ovf.text("/ovf:Envelope/Content/CreationDate"), "<none>");
    EXPECT_EQ(ovf.text("//Content/Section/@ovf:id"), vm);
    EXPECT_EQ(ovf.text("//Item[rasd:ResourceType='17']/rasd:HostResource"), file_ref);
    EXPECT_EQ(ovf.text("//Item[rasd:ResourceType='17']/rasd:InstanceId"), volume);
    EXPECT_EQ(ovf.text("//Item[rasd:ResourceType='17']/rasd:StorageId"), kDomainId);
    EXPECT_EQ(ovf.text("//Item[rasd:ResourceType='3']/rasd:num_of_sockets"), "1");
    EXPECT_EQ(ovf.text("//Item[rasd:ResourceType='4']/rasd:VirtualQuantity"), "1024");

    // Nothing of the staging folder stays behind.
    for (const std::string& name : listNames(domain_)) {
        EXPECT_FALSE(name.starts_with(".")) << name;
    }
}

TEST_F(RhevmExportDriverTest, PushOfRawImageWritesRawFormat) {
    source_ = temp_.path() / "disk.raw";
    ASSERT_EQ(test::run("qemu-img create -f raw '" + source_.string() + "' 8M"), 0);
    RecordingJobContext context(temp_.path() / "work");
    PushRequest push = request();
    push.target_image_file = source_;
    Result<PushOutput> output = driver_.push(push, context);
    ASSERT_TRUE(output.ok()) << output.error().message;

    std::string group = listNames(domain_ / "images").front();
    std::string meta_text;
    for (const std::string& name : listNames(domain_ / "images" / group)) {
        if (name.ends_with(".meta")) {
            meta_text = readFile(domain_ / "images" / group / name);
        }
    }
    EXPECT_NE(meta_text.find("FORMAT=RAW\n"), std::string::npos) << meta_text;
    EXPECT_NE(meta_text.find("SIZE=16384\n"), std::string::npos) << meta_text;
}

TEST_F(RhevmExportDriverTest, PushReportsRisingPercent) {
    RecordingJobContext context(temp_.path() / "work");
    ASSERT_TRUE(driver_.push(request(), context).ok());

    std::vector<int> percents = context.percents();
    EXPECT_GE(percents.size(), 5u);
    EXPECT_TRUE(test::isRising(percents));
    EXPECT_EQ(percents.back(), 100);
}

TEST_F(RhevmExportDriverTest, AbortMidCopyLeavesNothing) {
    RecordingJobContext context(temp_.path() / "work", 20);
    Result<PushOutput> output = driver_.push(request(), context);

    ASSERT_FALSE(output.ok());
    EXPECT_EQ(output.error().code, ErrorCode::Aborted);
    EXPECT_TRUE(leftovers().empty()) << leftovers().front();
    EXPECT_LT(context.percents().back(), 95);
}

TEST_F(RhevmExportDriverTest, CheckPushAcceptsValidDefinition) {
    Status status = driver_.checkPush(provider_, credentials("admin@internal", kPassword));
    EXPECT_TRUE(status.ok()) << status.error().message;
}

TEST_F(RhevmExportDriverTest, CheckPushNamesNfsDirWithoutDomain) {
    fs::remove_all(domain_);
    Status status = driver_.checkPush(provider_, credentials("admin", kPassword));

    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, ErrorCode::NotFound);
    EXPECT_NE(status.error().message.find(nfs_.string()), std::string::npos)
        << status.error().message;
}

TEST_F(RhevmExportDriverTest, CheckPushNamesNfsDirWithTwoDomains) {
    makeDomain(nfs_ / "0b5e9c1d-7a2f-4e3b-8c6d-5f4e3d2c1b0a", "Backup");
    Status status = driver_.checkPush(provider_, credentials("admin", kPassword));

    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().message.find(nfs_.string()), std::string::npos)
        << status.error().message;
    EXPECT_NE(status.error().message.find("2 storage domains"), std::string::npos)
        << status.error().message;
}

TEST_F(RhevmExportDriverTest, CheckPushRejectsDomainNotNamedByUuid) {
    fs::remove_all(domain_);
    makeDomain(nfs_ / "x\nLEGALITY=ILLEGAL", "Backup");
    Status status = driver_.checkPush(provider_, credentials("admin", kPassword));

    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().message.find("not named by a UUID"), std::string::npos)
        << status.error().message;
}

TEST_F(RhevmExportDriverTest, CheckPushRejectsMisspeltSetting) {
    provider_.settings["nfs_dir"] = provider_.settings["nfs-dir"];
    Status status = driver_.checkPush(provider_, credentials("admin", kPassword));

    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().message.find("unknown rhevm provider setting \"nfs_dir\""),
              std::string::npos)
        << status.error().message;
}

TEST_F(RhevmExportDriverTest, CheckPushNamesMissingNfsDir) {
    provider_.settings["nfs-dir"] = (temp_.path() / "not-mounted").string();
    Status status = driver_.checkPush(provider_, credentials("admin", kPassword));

    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().message.find((temp_.path() / "not-mounted").string()),
              std::string::npos)
        << status.error().message;
}

TEST_F(RhevmExportDriverTest, CheckPushRequiresNfsDirSetting) {
    provider_.settings.erase("nfs-dir");
    Status status = driver_.checkPush(provider_, credentials("admin", kPassword));

    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, ErrorCode::UserInput);
    EXPECT_NE(status.error().message.find("nfs-dir"), std::string::npos);
}

TEST_F(RhevmExportDriverTest, CheckPushRejectsDataDomain) {
    makeDomain(domain_, "Data");
    Status status = driver_.checkPush(provider_, credentials("admin", kPassword));

    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().message.find(domain_.string()), std::string::npos)
        << status.error().message;
}

TEST_F(RhevmExportDriverTest, CheckPushRejectsBadTimeout) {
    provider_.settings["timeout"] = "soon";
    Status status = driver_.checkPush(provider_, credentials("admin", kPassword));

    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().message.find("timeout"), std::string::npos);
}

TEST_F(RhevmExportDriverTest, MissingUsernameFailsWithoutQuotingPassword) {
    Status status = driver_.checkPush(provider_, credentials(nullptr, kPassword));

    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, ErrorCode::UserInput);
    EXPECT_NE(status.error().message.find("No username"), std::string::npos);
    EXPECT_EQ(status.error().message.find(kPassword), std::string::npos);
}

TEST_F(RhevmExportDriverTest, MissingPasswordFails) {
    Status status = driver_.checkPush(provider_, credentials("admin", nullptr));

    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, ErrorCode::UserInput);
    EXPECT_NE(status.error().message.find("No password"), std::string::npos);
}

TEST_F(RhevmExportDriverTest, DefinitionPasswordIsNeverQuoted) {
    provider_.settings["password"] = kPassword;
    Status status = driver_.checkPush(provider_, {});

    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().message.find("No username"), std::string::npos);
    EXPECT_EQ(status.error().message.find(kPassword), std::string::npos);
}

TEST_F(RhevmExportDriverTest, DefinitionCredentialsAreFallback) {
    provider_.settings["username"] = "admin@internal";
    provider_.settings["password"] = kPassword;
    EXPECT_TRUE(driver_.checkPush(provider_, {}).ok());

    RecordingJobContext context(temp_.path() / "work");
    PushRequest push = request();
    push.provider = provider_;
    push.credentials = {};
    Result<PushOutput> output = driver_.push(push, context);
    ASSERT_TRUE(output.ok()) << output.error().message;
    EXPECT_EQ(output->provider_account_identifier, "admin@internal");
}

TEST_F(RhevmExportDriverTest, ImportRejectsHostileIdentifiers) {
    for (const char* identifier :
         {"../etc/passwd", "a/b", "", "not-a-uuid", "../3e0c7d2a-1f4b-4e8d-a6c5-b9d8e7f6a5b4"}) {
        Result<std::string> result = driver_.checkImport({identifier, provider_});
        ASSERT_FALSE(result.ok()) << identifier;
        EXPECT_EQ(result.error().code, ErrorCode::UserInput) << identifier;
        EXPECT_NE(result.error().message.find("\"" + std::string(identifier) + "\""),
                  std::string::npos)
            << result.error().message;
    }
}

TEST_F(RhevmExportDriverTest, ImportOfPushedVmReturnsLowercaseUuid) {
    RecordingJobContext context(temp_.path() / "work");
    Result<PushOutput> output = driver_.push(request(), context);
    ASSERT_TRUE(output.ok()) << output.error().message;

    std::string upper = output->target_identifier;
    for (char& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    Result<std::string> imported = driver_.checkImport({upper, provider_});
    ASSERT_TRUE(imported.ok()) << imported.error().message;
    EXPECT_EQ(*imported, output->target_identifier);
}

TEST_F(RhevmExportDriverTest, ImportOfMissingVmIsNotFound) {
    Result<std::string> result =
        driver_.checkImport({"5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d", provider_});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, ErrorCode::NotFound);
}

TEST(OvirtExportFormatTest, RejectsUnalignedVirtualSize) {
    OvirtExportDisk disk{kDomainId, "g", "v", "qcow2", 1000, 1000};
    Result<std::string> meta = ovirtVolumeMetadata(disk, "d", 0);
    ASSERT_FALSE(meta.ok());
    EXPECT_NE(meta.error().message.find("1000"), std::string::npos);
}

TEST(OvirtExportFormatTest, RejectsOtherFormats) {
    OvirtExportDisk disk{kDomainId, "g", "v", "vmdk", 4096, 4096};
    EXPECT_FALSE(ovirtVmOvf(OvirtExportVm{}, disk).ok());
}

TEST(OvirtExportFormatTest, DescriptionCannotAddMetaKeys) {
    OvirtExportDisk disk{kDomainId, "g", "v", "raw", 4096, 4096};
    Result<std::string> meta = ovirtVolumeMetadata(disk, "x\nLEGALITY=ILLEGAL", 0);
    ASSERT_TRUE(meta.ok());
    EXPECT_EQ(meta->find("\nLEGALITY=ILLEGAL"), std::string::npos);
}

}  // namespace
}  // namespace imagefactory
