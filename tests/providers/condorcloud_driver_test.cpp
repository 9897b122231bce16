#include "providers/condorcloud_driver.hpp"

#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <sys/stat.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/template_xml.hpp"
#include "providers/provider_test_support.hpp"

namespace imagefactory {
namespace {

namespace fs = std::filesystem;
using test::listNames;
using test::readFile;
using test::RecordingJobContext;
using test::TempDir;

constexpr const char* kProviderImageId = "6f1c2d8e-3b4a-4c5d-9e8f-0a1b2c3d4e5f";

// The domain XML shape the condorcloud target records, pointing at the default images folder.
constexpr const char* kBuildDomainXml =
    "<domain type='kvm'><name>condorimage-build</name><memory unit='MiB'>1024</memory>"
    "<devices><disk type='file' device='cdrom'><source file='/tmp/boot.iso'/></disk>"
    "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
    "<source file='/home/cloud/images/condorimage-build.img'/>"
    "<target dev='vda' bus='virtio'/></disk></devices></domain>";

// The text of the first node matching an XPath expression, or "<none>".
std::string xpathText(xmlDoc* doc, const char* expression) {
    xmlXPathContext* context = xmlXPathNewContext(doc);
    xmlXPathObject* result =
        xmlXPathEvalExpression(reinterpret_cast<const xmlChar*>(expression), context);
    std::string text = "<none>";
    if (result && result->nodesetval && result->nodesetval->nodeNr > 0) {
        text = xmlText(result->nodesetval->nodeTab[0]);
    }
    xmlXPathFreeObject(result);
    xmlXPathFreeContext(context);
    return text;
}

class CondorCloudDriverTest : public ::testing::Test {
  protected:
    void SetUp() override {
        images_ = temp_.path() / "images";
        fs::create_directories(images_ / "staging");
        source_ = temp_.path() / "disk.qcow2";
        // 22 MiB of data: six chunks of the copy.
        test::makeQcow2(source_, 64, 22);
        provider_.name = "condor-test";
        provider_.target = "condorcloud";
        provider_.settings = {{"images_dir", images_.string()}};
    }

    PushRequest request(const std::string& parameters) const {
        PushRequest push;
        push.image_id = "image-1";
        push.build_id = "build-1";
        push.target_image_id = "target-1";
        push.provider_image_id = kProviderImageId;
        push.provider = provider_;
        push.target_image_file = source_;
        push.target_image_parameters = parameters;
        return push;
    }

    std::string parametersWithXml() const {
        return nlohmann::json{{"format", "disk.qcow2"}, {"libvirt_xml", kBuildDomainXml}}.dump();
    }

    fs::path finalImage() const {
        return images_ / (std::string("condorimage-") + kProviderImageId + ".img");
    }
    fs::path finalXml() const {
        return images_ / (std::string("condorimage-") + kProviderImageId + ".xml");
    }

    TempDir temp_;
    fs::path images_;
    fs::path source_;
    ProviderDefinition provider_;
    CondorCloudDriver driver_;
};

TEST_F(CondorCloudDriverTest, PushPublishesImageAndDomainXml) {
    RecordingJobContext context(temp_.path() / "work");
    Result<PushOutput> output = driver_.push(request(parametersWithXml()), context);
    ASSERT_TRUE(output.ok()) << output.error().message;

    EXPECT_EQ(output->target_identifier, std::string("condorimage-") + kProviderImageId);
    EXPECT_EQ(readFile(finalImage()), readFile(source_));
    EXPECT_TRUE(listNames(images_ / "staging").empty());

    XmlDocPtr doc(xmlReadFile(finalXml().c_str(), nullptr, XML_PARSE_NONET));
    ASSERT_TRUE(doc);
    EXPECT_EQ(xpathText(doc.get(), "/domain/name"), output->target_identifier);
    EXPECT_EQ(xpathText(doc.get(), "/domain/devices/disk[@device='disk']/source/@file"),
              finalImage().string());
    EXPECT_EQ(xpathText(doc.get(), "/domain/devices/disk[@device='disk']/driver/@type"), "qcow2");
    // The CD-ROM of the build's XML is kept as it was.
    EXPECT_EQ(xpathText(doc.get(), "/domain/devices/disk[@device='cdrom']/source/@file"),
              "/tmp/boot.iso");
}

TEST_F(CondorCloudDriverTest, PushReportsRisingPercent) {
    RecordingJobContext context(temp_.path() / "work");
    ASSERT_TRUE(driver_.push(request(parametersWithXml()), context).ok());

    std::vector<int> percents = context.percents();
    EXPECT_GE(percents.size(), 5u);
    EXPECT_TRUE(test::isRising(percents));
    EXPECT_EQ(percents.back(), 100);
}

TEST_F(CondorCloudDriverTest, PushWithoutLibvirtXmlWritesMinimalDomain) {
    RecordingJobContext context(temp_.path() / "work");
    Result<PushOutput> output = driver_.push(request("{\"format\":\"disk.qcow2\"}"), context);
    ASSERT_TRUE(output.ok()) << output.error().message;

    XmlDocPtr doc(xmlReadFile(finalXml().c_str(), nullptr, XML_PARSE_NONET));
    ASSERT_TRUE(doc);
    EXPECT_EQ(xpathText(doc.get(), "/domain/name"), output->target_identifier);
    EXPECT_EQ(xpathText(doc.get(), "/domain/devices/disk/source/@file"), finalImage().string());
}

TEST_F(CondorCloudDriverTest, PushKeepsRawImageSparse) {
    // 64 MiB raw with 8 MiB of data at 16 MiB, the rest holes, as the condorcloud target makes.
    source_ = temp_.path() / "disk.raw";
    ASSERT_EQ(test::run("qemu-img create -f raw '" + source_.string() + "' 64M"), 0);
    ASSERT_EQ(test::run("qemu-io -f raw -c 'write -P 0x33 16M 8M' '" + source_.string() + "'"), 0);
    RecordingJobContext context(temp_.path() / "work");
    Result<PushOutput> output = driver_.push(request("{}"), context);
    ASSERT_TRUE(output.ok()) << output.error().message;

    struct stat info {};
    ASSERT_EQ(::stat(finalImage().c_str(), &info), 0);
    EXPECT_EQ(info.st_size, 64 * 1024 * 1024);
    EXPECT_LT(info.st_blocks * 512, 16 * 1024 * 1024);
    EXPECT_EQ(readFile(finalImage()), readFile(source_));
    XmlDocPtr doc(xmlReadFile(finalXml().c_str(), nullptr, XML_PARSE_NONET));
    ASSERT_TRUE(doc);
    EXPECT_EQ(xpathText(doc.get(), "/domain/devices/disk/driver/@type"), "raw");
}

TEST_F(CondorCloudDriverTest, AbortMidCopyLeavesNothing) {
    RecordingJobContext context(temp_.path() / "work", 20);
    Result<PushOutput> output = driver_.push(request(parametersWithXml()), context);

    ASSERT_FALSE(output.ok());
    EXPECT_EQ(output.error().code, ErrorCode::Aborted);
    EXPECT_EQ(listNames(images_), std::vector<std::string>{"staging"});
    EXPECT_TRUE(listNames(images_ / "staging").empty());
    EXPECT_LT(context.percents().back(), 95);
}

TEST_F(CondorCloudDriverTest, CheckPushNamesMissingImagesDir) {
    provider_.settings["images_dir"] = (temp_.path() / "absent").string();
    Status status = driver_.checkPush(provider_, {});

    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().message.find((temp_.path() / "absent").string()), std::string::npos)
        << status.error().message;
}

TEST_F(CondorCloudDriverTest, CheckPushRejectsMisspeltSetting) {
    provider_.settings = {{"images-dir", images_.string()}};
    Status status = driver_.checkPush(provider_, {});

    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().message.find("unknown condorcloud provider setting \"images-dir\""),
              std::string::npos)
        << status.error().message;
}

TEST_F(CondorCloudDriverTest, CheckPushNamesMissingStagingDir) {
    fs::remove(images_ / "staging");
    Status status = driver_.checkPush(provider_, {});

    ASSERT_FALSE(status.ok());
    EXPECT_NE(status.error().message.find((images_ / "staging").string()), std::string::npos)
        << status.error().message;
}

TEST_F(CondorCloudDriverTest, CheckPushAcceptsEmptyCredentials) {
    EXPECT_TRUE(driver_.checkPush(provider_, {}).ok());
}

TEST_F(CondorCloudDriverTest, CheckPushRejectsNonStringImagesDir) {
    provider_.settings["images_dir"] = 42;
    Status status = driver_.checkPush(provider_, {});

    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.error().code, ErrorCode::UserInput);
    EXPECT_NE(status.error().message.find("images_dir"), std::string::npos);
}

TEST_F(CondorCloudDriverTest, PushRejectsExistingDestination) {
    test::writeFile(finalXml(), "<domain/>");
    RecordingJobContext context(temp_.path() / "work");
    Result<PushOutput> output = driver_.push(request(parametersWithXml()), context);

    ASSERT_FALSE(output.ok());
    EXPECT_EQ(output.error().code, ErrorCode::InvalidState);
    EXPECT_NE(output.error().message.find(finalXml().string()), std::string::npos);
    EXPECT_EQ(readFile(finalXml()), "<domain/>");
    EXPECT_FALSE(fs::exists(finalImage()));
    EXPECT_TRUE(listNames(images_ / "staging").empty());
}

TEST_F(CondorCloudDriverTest, PushRejectsDoctypeInLibvirtXml) {
    std::string hostile =
        "<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain><name>&x;</name></domain>";
    RecordingJobContext context(temp_.path() / "work");
    Result<PushOutput> output =
        driver_.push(request(nlohmann::json{{"libvirt_xml", hostile}}.dump()), context);

    ASSERT_FALSE(output.ok());
    EXPECT_EQ(output.error().code, ErrorCode::UserInput);
    EXPECT_EQ(listNames(images_), std::vector<std::string>{"staging"});
    EXPECT_TRUE(listNames(images_ / "staging").empty());
}

TEST_F(CondorCloudDriverTest, ImportRejectsHostileIdentifiers) {
    for (const char* identifier : {"../etc/passwd", "a/b", "", "..", "x/../../y"}) {
        Result<std::string> result = driver_.checkImport({identifier, provider_});
        ASSERT_FALSE(result.ok()) << identifier;
        EXPECT_EQ(result.error().code, ErrorCode::UserInput) << identifier;
        EXPECT_NE(result.error().message.find("\"" + std::string(identifier) + "\""),
                  std::string::npos)
            << result.error().message;
    }
}

TEST_F(CondorCloudDriverTest, ImportOfPushedImageReturnsIdentifier) {
    RecordingJobContext context(temp_.path() / "work");
    Result<PushOutput> output = driver_.push(request(parametersWithXml()), context);
    ASSERT_TRUE(output.ok()) << output.error().message;

    Result<std::string> imported = driver_.checkImport({output->target_identifier, provider_});
    ASSERT_TRUE(imported.ok()) << imported.error().message;
    EXPECT_EQ(*imported, output->target_identifier);
}

TEST_F(CondorCloudDriverTest, ImportOfMissingImageIsNotFound) {
    Result<std::string> result = driver_.checkImport({"condorimage-absent", provider_});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, ErrorCode::NotFound);
}

TEST_F(CondorCloudDriverTest, ImportWithoutXmlIsNotFound) {
    test::writeFile(images_ / "condorimage-half.img", "data");
    Result<std::string> result = driver_.checkImport({"condorimage-half", provider_});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().code, ErrorCode::NotFound);
    EXPECT_NE(result.error().message.find("condorimage-half.xml"), std::string::npos);
}

// A reader polling images_dir the way a cloud host does must never find a short image, and
// once the XML is there the image must be complete.
TEST_F(CondorCloudDriverTest, ReaderNeverSeesPartialImage) {
    const auto source_size = static_cast<off_t>(fs::file_size(source_));
    std::atomic<bool> done{false};
    std::atomic<int> polls{0};
    std::atomic<int> short_images{0};
    std::atomic<int> xml_before_image{0};
    std::thread reader([&] {
        while (!done.load()) {
            for (const std::string& name : listNames(images_)) {
                struct stat info {};
                if (name.ends_with(".img") && ::stat((images_ / name).c_str(), &info) == 0 &&
                    info.st_size < source_size) {
                    ++short_images;
                }
                if (name.ends_with(".xml") && !fs::exists(finalImage())) {
                    ++xml_before_image;
                }
            }
            ++polls;
        }
    });

    RecordingJobContext context(temp_.path() / "work");
    Result<PushOutput> output = driver_.push(request(parametersWithXml()), context);
    done = true;
    reader.join();

    ASSERT_TRUE(output.ok()) << output.error().message;
    EXPECT_GT(polls.load(), 10);
    EXPECT_EQ(short_images.load(), 0);
    EXPECT_EQ(xml_before_image.load(), 0);
}

}  // namespace
}  // namespace imagefactory
